"""Standard output as edgemt writes it (tui/stdout.py): a fleet head's ``--json`` stays one
JSON document although Ray's native parts (the core worker's logger, lines it relays from a
raylet) write to file descriptor 1 behind Python's back. CI saw a raylet line glued after the
head's JSON; here a native-style write (os.write on fd 1, as C++ does) stands for it."""
import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, sys
    from tui.stdout import GuardedStdout, keep_native_writes_off_stdout
    sys.stdout = GuardedStdout(sys.stdout)
    print("before")
    keep_native_writes_off_stdout()
    os.write(1, b"[I 123] (raylet) worker_pool.cc:739: a native line\\n")
    print('{"boards": []}')
    sys.stdout.flush()
""")


def test_native_writes_to_fd_1_go_to_stderr_and_python_output_stays_on_stdout():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines == ["before", '{"boards": []}']
    assert json.loads(lines[1]) == {"boards": []}
    assert "(raylet) worker_pool.cc:739: a native line" in r.stderr


def test_a_closed_pipe_after_the_switch_is_still_told_apart():
    # the reader of stdout is gone: GuardedStdout still raises OutputClosed (a quiet end), not OSError
    script = SCRIPT.replace('print(\'{"boards": []}\')', 'print("x" * 200000)').replace(
        "sys.stdout.flush()", "")
    script = textwrap.dedent("""
        import sys
        from tui.exit_codes import OutputClosed
        try:
    """) + textwrap.indent(script, "    ") + textwrap.dedent("""
            sys.stdout.flush()
        except OutputClosed:
            sys.stderr.write("closed\\n")
            sys.stdout = open("/dev/null", "w")
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdout.close()  # the reader leaves before anything is read
    err = p.stderr.read()
    p.wait(60)
    assert "closed" in err and "Traceback" not in err, err
