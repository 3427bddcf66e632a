"""tegrastats parser on real lines from every board family, and the command collector."""
import stat
import sys
import time

import pytest

from collectors.base import Collector
from collectors.tegrastats import TegrastatsCollector, parse_line

from collectors_testdata import DATA, captured_line


def test_every_data_file_has_a_source_header():
    for f in (DATA / "tegrastats").glob("*.txt"):
        assert f.read_text().startswith("# source: "), f.name
    assert (DATA / "tegrastats" / "SOURCE.md").exists()


def test_tx1_no_unit_rails_and_input_rail_total():
    p = parse_line(captured_line("tx1.txt"))
    v = p.values
    assert v["ram_used_mb"] == 1179 and v["ram_total_mb"] == 3983
    assert v["iram_total_kb"] == 252
    assert [v[f"cpu{i}_percent"] for i in range(4)] == [1, 4, 0, 0]
    assert v["cpu0_freq_mhz"] == 102
    assert (v["emc_util_percent"], v["emc_freq_mhz"]) == (7, 408)
    assert (v["gpu0_util_percent"], v["gpu0_freq_mhz"]) == (0, 76)
    assert v["temp_tdiode_c"] == 42.75
    assert v["power_vdd_in_w"] == pytest.approx(2.532)
    assert v["power_vdd_in_avg_w"] == pytest.approx(2.698)
    assert v["power_vdd_cpu_w"] == pytest.approx(0.076)
    assert v["power_w"] == pytest.approx(2.532)
    assert p.power_total_rule == "input rail VDD_IN"


def test_tx2_offline_cores():
    p = parse_line(captured_line("tx2.txt"))
    assert p.offline["cpu1_percent"] == "core offline"
    assert p.offline["cpu2_freq_mhz"] == "core offline"
    assert p.values["cpu3_percent"] == 1 and p.values["cpu5_percent"] == 2
    assert p.values["swap_total_mb"] == 3926
    assert p.values["temp_bcpu_c"] == 37.5 and p.values["temp_mcpu_c"] == 37.5
    assert p.values["power_vdd_sys_ddr_w"] == pytest.approx(0.883)
    assert p.values["power_w"] == pytest.approx(3.056)
    m = p.metrics()
    assert m["cpu1_percent"].value is None and m["cpu1_percent"].reason == "core offline"
    assert m["power_w"].unit == "W" and m["temp_gpu_c"].unit == "C"


def test_nano_pom_rails():
    p = parse_line(captured_line("nano.txt"))
    v = p.values
    assert v["power_pom_5v_in_w"] == pytest.approx(1.022)
    assert v["power_pom_5v_cpu_w"] == pytest.approx(0.204)
    assert v["power_w"] == pytest.approx(1.022)
    assert v["swap_cached_mb"] == 1 and v["ram_lfb_blocks"] == 98
    assert v["cpu0_percent"] == 16


def test_agx_xavier_sums_rails_without_input_rail():
    p = parse_line(captured_line("agx_xavier.txt"))
    v = p.values
    assert p.rails == ["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"]
    assert v["power_w"] == pytest.approx(0.311 + 0.932 + 0.621 + 1.482)
    assert v["temp_gpu_c"] == 37.5 and v["power_gpu_w"] == 0
    assert sum(1 for k in p.offline if k.endswith("_percent")) == 4
    assert "mts_freq_mhz" not in v


def test_xavier_nx():
    v = parse_line(captured_line("xavier_nx.txt")).values
    assert v["gpu0_util_percent"] == 62 and v["gpu0_freq_mhz"] == 306
    assert v["cpu5_freq_mhz"] == 1267
    assert v["power_w"] == pytest.approx(4.067)
    assert v["temp_thermal_c"] == 42.55


def test_mw_units_and_three_decimal_temps():
    v = parse_line(captured_line("orin_nx_r35.txt")).values
    assert v["power_vdd_in_w"] == pytest.approx(5.299)
    assert v["power_vdd_soc_w"] == pytest.approx(1.424)
    assert v["power_w"] == pytest.approx(5.299)
    assert v["temp_cv0_c"] == pytest.approx(45.812) and v["temp_tj_c"] == pytest.approx(48.875)
    assert v["vic_freq_mhz"] == 729 and v["ape_freq_mhz"] == 174
    assert v["emc_freq_mhz"] == 2133


def test_agx_orin_r36_gpc_array_and_engines_off():
    p = parse_line(captured_line("agx_orin_r36.txt"))
    v = p.values
    assert len([k for k in v if k.startswith("cpu") and k.endswith("_percent")]) == 12
    assert v["cpu5_percent"] == 100 and v["cpu5_freq_mhz"] == 2201
    assert (v["gpu0_util_percent"], v["gpu0_freq_mhz"]) == (0, 305)
    assert v["swap_used_mb"] == 4915
    assert p.offline["nvenc_freq_mhz"] == "engine off"
    assert p.offline["pva0_freq_mhz"] == "engine off"
    assert v["ape_freq_mhz"] == 174  # padded with many spaces in the real output
    assert v["power_w"] == pytest.approx(3.205 + 4.405 + 4.767)
    assert p.power_total_rule.startswith("sum of rails")


def test_agx_orin_jetpack7_date_slash_temps_and_three_field_rails():
    v = parse_line(captured_line("agx_orin_jp7.txt")).values
    assert (v["gpu0_util_percent"], v["gpu0_freq_mhz"]) == (12, 1300)
    assert (v["emc_util_percent"], v["emc_freq_mhz"]) == (3, 3199)
    assert v["temp_cpu_c"] == pytest.approx(52.968)
    assert v["power_vdd_gpu_soc_w"] == pytest.approx(5.139)
    assert v["power_w"] == pytest.approx(5.139 + 3.268 + 5.5)
    assert not any("2026" in k for k in v)
    assert v["ram_used_mb"] == 20642


def test_old_shared_frequency_cpu_form_and_offline_sensor():
    # the "CPU [X%,Y%,...]@Z" form of NVIDIA's "Reported Statistics" table; -256C = offline sensor
    p = parse_line("RAM 100/3964MB (lfb 1x4MB) CPU [1%,4%,off,off]@1224 CV0@-256C GPU@41C")
    assert p.values["cpu1_percent"] == 4 and p.values["cpu1_freq_mhz"] == 1224
    assert "cpu2_percent" in p.offline
    assert "temp_cv0_c" in p.offline and p.values["temp_gpu_c"] == 41


def test_garbage_line_yields_nothing():
    assert parse_line("").values == {}
    assert parse_line("tegrastats: permission denied").values == {}


# -- the collector: a command path parameter, here a script that prints the captured lines --

def _fake_tegrastats(tmp_path, lines, then="sleep"):
    """An executable standing in for /usr/bin/tegrastats: prints real lines, then waits or exits."""
    data = tmp_path / "lines.txt"
    data.write_text("\n".join(lines) + "\n")
    script = tmp_path / "tegrastats"
    tail = "time.sleep(60)" if then == "sleep" else "sys.exit(3)"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, time\n"
        "assert sys.argv[1] == '--interval', sys.argv\n"
        f"for line in open({str(data)!r}):\n"
        "    print(line, end='', flush=True)\n"
        "    time.sleep(0.05)\n"
        f"{tail}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _wait(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_collector_runs_command_and_reports_last_line(tmp_path):
    cmd = _fake_tegrastats(tmp_path, [captured_line("nano.txt"), captured_line("tx2.txt")])
    c = TegrastatsCollector(command=cmd, interval_ms=100)
    try:
        ok, why = c.available()
        assert ok, why
        assert c.argv()[1:] == ["--interval", "100"]
        assert _wait(lambda: "VDD_IN" in c.last_line)
        m = c.sample()
        assert m["power_w"].value == pytest.approx(3.056)  # the TX2 line came last
        assert m["cpu1_percent"].value is None
        assert c.info()["power_total"] == "input rail VDD_IN"
    finally:
        c.close()


def test_collector_reports_exit(tmp_path):
    cmd = _fake_tegrastats(tmp_path, [], then="exit")
    c = TegrastatsCollector(command=cmd, interval_ms=100)
    assert c.available()[0]
    assert _wait(lambda: c._proc.poll() is not None)
    time.sleep(0.1)
    m = c.sample()
    assert m["tegrastats_error"].value is None
    assert "exited with status 3" in m["tegrastats_error"].reason
    c.close()


def test_collector_not_available_without_command(tmp_path):
    c = TegrastatsCollector(command=tmp_path / "nope" / "tegrastats")
    ok, why = c.available()
    assert not ok and "not found" in why


def test_collector_steps_aside_for_jtop(tmp_path):
    class Jtop(Collector):
        name = "jetson"

    c = TegrastatsCollector(command=_fake_tegrastats(tmp_path, []), prefer=Jtop())
    assert c.available() == (False, "jetson is available and preferred over tegrastats")
    assert c._proc is None
