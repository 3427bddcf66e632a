"""The host fingerprint's libedgetpu lookup (tui/session.py): one dpkg-query for the four
package names, the first installed one in the order std, max, legacy-std, legacy-max, and
looked up once per process."""
import tui.session as session

FAKE_DPKG_QUERY = """#!/bin/sh
echo "$# $4 $5 $6 $7" >> "{log}"
echo "libedgetpu1-std|deinstall ok config-files|15.0"
echo "libedgetpu1-max|install ok installed|16.0"
echo "libedgetpu1-legacy-std|install ok installed|14.1"
echo "dpkg-query: no packages found matching libedgetpu1-legacy-max" >&2
exit 1
"""


def test_one_query_names_the_first_installed_package(tmp_path):
    log = tmp_path / "calls"
    fake = tmp_path / "dpkg-query"
    fake.write_text(FAKE_DPKG_QUERY.format(log=log))
    fake.chmod(0o755)
    out = session._look_up_libedgetpu(dpkg_query=str(fake))
    assert out["package"] == "libedgetpu1-max 16.0"  # std is only config files: not installed
    calls = log.read_text().splitlines()
    assert calls == ["7 " + " ".join(session.LIBEDGETPU_PACKAGES)]  # -W -f FORMAT and the four


def test_no_dpkg_query_no_package(tmp_path):
    assert session._look_up_libedgetpu(dpkg_query=str(tmp_path / "missing"))["package"] is None


def test_looked_up_once_per_process_and_given_as_a_copy(monkeypatch):
    calls = []

    def look_up():
        calls.append(1)
        return {"package": "libedgetpu1-std 16.0", "library": "libedgetpu.so.1"}

    monkeypatch.setattr(session, "_LIBEDGETPU", None)
    monkeypatch.setattr(session, "_look_up_libedgetpu", look_up)
    first = session.libedgetpu_version()
    first["package"] = "changed by a caller"
    assert session.libedgetpu_version() == {"package": "libedgetpu1-std 16.0", "library": "libedgetpu.so.1"}
    assert len(calls) == 1
