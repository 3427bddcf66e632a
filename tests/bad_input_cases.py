"""THE table of bad inputs and faults: what a user types, what edgemt must answer.

One row per case: the ``edgemt`` arguments, the exit status, the first line of stderr,
and whether anything may be written. ``tests/functional/test_bad_input.py`` runs every
row against the real ``edgemt`` command; ``docs/make_bad_input_md.py`` writes
docs/bad-input.md from it (``tests/unit/test_bad_input_doc.py`` checks the doc matches).

Placeholders in ``argv`` and ``line``: ``{home}`` the test's private folder, ``{db}`` the
seeded edgemt DB (also $EDGEMT_DB), ``{T}`` a tiny real tenant
(mobilenet_v2,framework=tflite,threads=1), and ``{NAME}`` for every file a setup in
SETUPS makes (``{other_db}``, ``{deep_images}``...). In ``line``, ``...`` matches anything.

``db``: "seeded" = an edgemt DB with one finished run exists and every file in the home
folder keeps its bytes (nothing written, nothing created); "none" = no DB exists and
none may appear; "run" = a real run writes the DB (faults, closed streams), checked with
``stored``: (SQL, expected first row); "read" = the seeded DB keeps its bytes while the
command writes elsewhere (a merge's output, a CSV).
"""
from dataclasses import dataclass, field

T = "mobilenet_v2,framework=tflite,threads=1"


@dataclass
class Case:
    section: str
    argv: list
    exit: int
    line: str  # the first line of stderr ("" = nothing on stderr)
    db: str = "seeded"  # seeded | none | run | read
    setup: tuple = ()  # names from SETUPS
    config: str = None  # config.toml text, added to the test's [envs]
    action: str = None  # None | close_stdout | stdout_full | sigint | sigterm | sigint_in_check | segv_runner
    stored: tuple = None  # (SQL, expected first row) after a run
    note: str = ""  # for the doc
    real: bool = False  # runs a real framework child (a run, or a probe before the answer): make test only
    env: dict = field(default_factory=dict)


def C(section, argv, exit, line, **kw):
    return Case(section, list(argv), exit, line, **kw)


RUN = "run --tenant".split()
LONG = "a" * 300  # one path component longer than any file system takes
MV2 = RUN + ["mobilenet_v2"]

CASES = [
    # -- command line: commands and flags ---------------------------------------------------
    C("cli", ["run"], 2, "edgemt run: the following arguments are required: --tenant"),
    C("cli", ["frobnicate"], 2, "edgemt: argument command: invalid choice: 'frobnicate' (choose from ...)"),
    C("cli", MV2 + ["--frobnicate"], 2, "edgemt: unrecognized arguments: --frobnicate"),
    C("cli", ["env"], 2, "edgemt env: say list, create FRAMEWORK or use FRAMEWORK PYTHON"),
    C("cli", ["sweep"], 2, "edgemt sweep: say batch or concurrency"),
    C("cli", ["env", "use", "torch", "/no/such/python"], 2,
      "edgemt: interpreter '/no/such/python' does not exist or is not executable; ..."),
    C("cli", ["models", "prepare", "torch"], 2,
      "edgemt models prepare: argument framework: invalid choice: 'torch' (choose from 'tflite'...)"),
    C("cli", [], 2, "edgemt: the UI needs a terminal (stdin and stderr are not one); without a terminal use "
      "'edgemt run --tenant SPEC', or start the UI in a terminal with --keep-running ...", db="none",
      note="`edgemt </dev/null`; was: the UI ran unattended, writing the default DB"),
    C("cli", ["--new"], 2, "edgemt: the UI needs a terminal ...", db="none"),
    C("cli", ["replay"], 2, "edgemt: edgemt replay needs a terminal ..."),

    # -- numbers on the command line: finite, in range, plain digits ------------------------
    C("numbers", MV2 + ["--duration", "0"], 2,
      "edgemt run: argument --duration: '0' is not positive; give seconds from 0.1 to 604800"),
    C("numbers", MV2 + ["--duration", "-5"], 2, "edgemt run: argument --duration: '-5' is not positive; ..."),
    C("numbers", MV2 + ["--duration", "soon"], 2, "edgemt run: argument --duration: 'soon' is not a number; ..."),
    C("numbers", MV2 + ["--duration", "inf"], 2,
      "edgemt run: argument --duration: 'inf' is not a finite number; give seconds from 0.1 to 604800",
      note="was: ran for ever"),
    C("numbers", MV2 + ["--duration", "nan"], 2, "edgemt run: argument --duration: 'nan' is not a finite number; ..."),
    C("numbers", MV2 + ["--duration", "1e400"], 2,
      "edgemt run: argument --duration: '1e400' is not a finite number; ...", note="overflows to infinity"),
    C("numbers", MV2 + ["--duration", "1_0"], 2, "edgemt run: argument --duration: '1_0' is not a number; ..."),
    C("numbers", MV2 + ["--duration", "\uff11\uff10"], 2, "edgemt run: argument --duration: '\uff11\uff10' is not a number; ...",
      note="full-width digits"),
    C("numbers", MV2 + ["--duration", "1e9"], 2,
      "edgemt run: argument --duration: '1e9' is out of range; give seconds from 0.1 to 604800"),
    C("numbers", MV2 + ["--window", "0"], 2, "edgemt run: argument --window: '0' is not positive; give seconds from 0.1 to 60"),
    C("numbers", MV2 + ["--window", "1e-9"], 2,
      "edgemt run: argument --window: '1e-9' is out of range; give seconds from 0.1 to 60",
      note="was: healthy tenants marked as hung"),
    C("numbers", MV2 + ["--window", "3600"], 2, "edgemt run: argument --window: '3600' is out of range; ...",
      note="was: --duration ignored"),
    C("numbers", MV2 + ["--window", "inf"], 2, "edgemt run: argument --window: 'inf' is not a finite number; ...",
      note="was: never ended; negative measured time after Ctrl-C"),
    C("numbers", MV2 + ["--window", "5", "--duration", "2"], 2,
      "edgemt: --window 5 s is longer than --duration 2 s; a measurement is whole windows: give a window of at most 2 s"),
    C("numbers", MV2 + ["--window", "30", "--max-duration", "10"], 2,
      "edgemt: --window 30 s is longer than --max-duration 10 s; give a window of at most 10 s"),
    C("numbers", MV2 + ["--max-duration", "abc"], 2, "edgemt run: argument --max-duration: 'abc' is not a number; ..."),
    C("numbers", MV2 + ["--max-duration=-inf"], 2,
      "edgemt run: argument --max-duration: '-inf' is not a finite number; ..."),
    C("numbers", ["export", "--run", "x", "--out", "{home}/x.csv"], 2,
      "edgemt export: argument --run: 'x' is not a whole number; give a run id from 1 to 9223372036854775807"),
    C("numbers", ["export", "--run", "1_0", "--out", "{home}/x.csv"], 2,
      "edgemt export: argument --run: '1_0' is not a whole number; ..."),
    C("numbers", ["export", "--run", "0", "--out", "{home}/x.csv"], 2,
      "edgemt export: argument --run: '0' is out of range; give a run id from 1 to 9223372036854775807"),
    C("numbers", ["export", "--run", "99999999999999999999", "--out", "{home}/x.csv"], 2,
      "edgemt export: argument --run: '99999999999999999999' is out of range; ...", note="past SQLite's integers"),
    C("numbers", ["report", "-1"], 2, "edgemt report: argument RUN: '-1' is out of range; ..."),
    C("numbers", MV2 + ["--duration", "1", "--measure-at", "1"], 2,
      "edgemt: --measure-at 1.000: that instant is already past (now ...); give a later one, ...",
      note="the fleet's synchronised measured phase"),
    C("numbers", MV2 + ["--duration", "1", "--measure-at", "1e10"], 2,
      "edgemt: --measure-at 10000000000.000: that is ... h ahead; give an instant within 24 h of now (...)"),
    C("numbers", ["diff", "1", "\uff12"], 2, "edgemt diff: argument RUN: '\uff12' is not a whole number; ..."),
    C("numbers", ["replay", "--speed", "nan"], 2, "edgemt replay: argument --speed: 'nan' is not a finite number; ..."),
    C("numbers", ["replay", "--speed", "-1"], 2, "edgemt replay: argument --speed: '-1' is out of range; give as a factor from 0 to 1000"),
    C("numbers", ["--follow", "abc"], 2, "edgemt: argument --follow: 'abc' is not a whole number (a run id) nor a file (the fleet DB of edgemt fleet run)"),
    C("numbers", ["sweep", "batch", "--tenant", "mobilenet_v2", "--repeat", "0"], 2,
      "edgemt sweep batch: argument --repeat: '0' is out of range; give a whole number from 1 to 100"),
    C("numbers", ["sweep", "batch", "--tenant", "mobilenet_v2", "--cooldown", "inf"], 2,
      "edgemt sweep batch: argument --cooldown: 'inf' is not a finite number; give seconds from 0 to 3600"),
    C("numbers", ["sweep", "batch", "--tenant", "mobilenet_v2", "--cooldown", "-1"], 2,
      "edgemt sweep batch: argument --cooldown: '-1' is out of range; give seconds from 0 to 3600"),
    C("numbers", ["sweep", "batch", "--tenant", "mobilenet_v2", "--batches", "1,1_0"], 2,
      "edgemt: --batches '1_0' is not a whole number; a batch is a whole number from 1 to 4096"),
    C("numbers", ["sweep", "batch", "--tenant", "mobilenet_v2", "--batches", "1,,2"], 2,
      "edgemt: --batches '1,,2' is not a comma list; give e.g. 1,2,4"),
    C("numbers", ["sweep", "concurrency", "--tenant", "mobilenet_v2", "--max", "100000"], 2,
      "edgemt sweep concurrency: argument --max: '100000' is out of range; give a concurrency level from 1 to 4096"),
    C("numbers", ["sweep", "concurrency", "--tenant", "mobilenet_v2", "--strategy", "random"], 2,
      "edgemt: --strategy 'random'; accepted: ..."),
    C("numbers", ["sweep", "batch", "--tenant", "mobilenet_v2", "--window", "10", "--duration", "1"], 2,
      "edgemt: --window 10 s is longer than --duration 1 s; ..."),
    C("numbers", ["tune", "--tenant", "mobilenet_v2", "--p99-ms", "0"], 2,
      "edgemt tune: argument --p99-ms: '0' is not positive; give milliseconds from 0.001 to 1000000"),
    C("numbers", ["tune", "--tenant", "mobilenet_v2", "--budget", "2.5"], 2,
      "edgemt tune: argument --budget: '2.5' is not a whole number; give a whole number from 1 to 10000"),
    C("numbers", ["tune", "--tenant", "mobilenet_v2", "--isolations", "fork"], 2,
      "edgemt: --isolations: 'fork' is not an isolation; accepted: process, thread"),
    C("numbers", ["tune", "--tenant", "mobilenet_v2", "--objective", "speed"], 2,
      "edgemt: --objective 'speed'; accepted: throughput, throughput-per-watt, slo"),
    C("numbers", ["tune", "--tenant", "mobilenet_v2", "--objective", "slo"], 2,
      "edgemt: --objective slo: SPEC 'mobilenet_v2' needs rate= (each stream's queries a second) and slo= (its "
      "latency bound), e.g. rate=15,slo=100"),
    C("numbers", ["dmp", "--tenant", "mobilenet_v2"], 2,
      "edgemt: dmp needs two or more --tenant SPECs (one group per placement)"),
    C("numbers", ["dmp", "--tenant", "mobilenet_v2", "--tenant", "squeezenet1_0", "--objective", "most"], 2,
      "edgemt: --objective 'most'; accepted: throughput, slo"),
    C("numbers", ["dmp", "--tenant", "mobilenet_v2,rate=15,slo=100", "--tenant", "squeezenet1_0", "--objective", "slo"],
      2, "edgemt: --objective slo: SPEC 'squeezenet1_0,framework=torch,resource=cpu,batch=1,count=1,isolation=process' "
      "needs rate= (each stream's queries a second) and slo= (its latency bound), e.g. rate=15,slo=100"),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2", "--rate-max", "10"], 2,
      "edgemt: --slo MS is required: the latency bound of a query in ms (its p99), or pN:MS, e.g. p90:100"),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2", "--slo", "100"], 2,
      "edgemt: give --rate-max R (the largest rate that meets the SLO) or --fps F (the most streams at F queries "
      "a second), one of them"),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2", "--slo", "100", "--rate-max", "10", "--fps", "15"], 2,
      "edgemt: give --rate-max R (the largest rate that meets the SLO) or --fps F ..."),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2,rate=5", "--slo", "100", "--rate-max", "10"], 2,
      "edgemt: --tenant 'mobilenet_v2,rate=5': capacity sets the rate; leave rate= and arrival=trace: out of the "
      "SPEC (arrival=poisson,seed=N is fine)"),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2", "--slo", "p0:100", "--rate-max", "10"], 2,
      "edgemt: --slo 'p0:100': percentile p0 is out of range; --slo takes MS (the p99 bound) or pN:MS ..."),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2", "--slo", "100", "--rate-max", "0"], 2,
      "edgemt capacity: argument --rate-max: ..."),
    C("numbers", ["capacity", "--tenant", "mobilenet_v2", "--slo", "100", "--rate-max", "10", "--step", "20"], 2,
      "edgemt: --step 20 is above --rate-max 10; give a smaller step"),
    C("numbers", ["mlperf", "--tenant", "mobilenet_v2"], 2,
      "edgemt: --scenario is required: one of single-stream, multi-stream, server, offline"),
    C("numbers", ["mlperf", "--scenario", "singlestream", "--tenant", "mobilenet_v2"], 2,
      "edgemt: --scenario 'singlestream': one of single-stream, multi-stream, server, offline"),
    C("numbers", ["mlperf", "--scenario", "server", "--tenant", "mobilenet_v2", "--target-qps", "10"], 2,
      "edgemt: --scenario server needs --latency-bound MS and --target-qps QPS"),
    C("numbers", ["mlperf", "--scenario", "single-stream", "--tenant", "mobilenet_v2", "--latency-bound", "10"], 2,
      "edgemt: --latency-bound, --target-qps and --seed are server's; --scenario single-stream has none"),
    C("numbers", ["mlperf", "--scenario", "server", "--tenant", "mobilenet_v2,rate=5", "--latency-bound", "10",
                  "--target-qps", "10"], 2,
      "edgemt: --tenant 'mobilenet_v2,rate=5': the scenario sets the arrivals and the bound; leave rate=, "
      "arrival=, seed=, queue= and slo= out of the SPEC"),
    C("numbers", ["mlperf", "--scenario", "server", "--tenant", "mobilenet_v2,arrival=poisson", "--latency-bound",
                  "10", "--target-qps", "10"], 2,
      "edgemt: --tenant 'mobilenet_v2,arrival=poisson': the scenario sets the arrivals and the bound; ..."),
    C("numbers", ["mlperf", "--scenario", "offline", "--tenant", "mobilenet_v2,rt=on"], 2,
      "edgemt: --tenant 'mobilenet_v2,rt=on': rt=on waits for scheduled arrivals, which only --scenario server "
      "has; leave it out"),
    C("numbers", ["mlperf", "--scenario", "server", "--tenant", "mobilenet_v2", "--latency-bound", "0",
                  "--target-qps", "10"], 2,
      "edgemt mlperf: argument --latency-bound: ..."),

    # -- SPECs ----------------------------------------------------------------------------
    C("spec", RUN + ["nosuchnet"], 2, "edgemt: SPEC 'nosuchnet': unknown model 'nosuchnet'; accepted: alexnet, ... (or file=PATH)"),
    C("spec", RUN + ["MOBILENET_V2"], 2, "edgemt: SPEC 'MOBILENET_V2': unknown model 'MOBILENET_V2'; ..."),
    C("spec", RUN + ["mobilenet_v2,framework=caffe"], 2, "edgemt: SPEC ...: unknown framework 'caffe'; accepted: ..."),
    C("spec", RUN + ["vgg16,framework=tflite"], 2, "edgemt: SPEC ...: model 'vgg16' is not supported by tflite; ..."),
    C("spec", RUN + ["mobilenet_v2,resource=cuda:0"], 2,
      "edgemt: resource cuda:0 not found by torch: CUDA devices here: none", note="probes the torch environment",
      real=True),
    C("spec", RUN + ["mobilenet_v1,framework=tflite,resource=edgetpu:usb:3"], 2,
      "edgemt: resource edgetpu:usb:3: no EdgeTPU was found; ...", real=True),  # after the tflite probe
    C("spec", RUN + ["mobilenet_v2,resource=gpu"], 2, "edgemt: SPEC ...: unknown resource 'gpu'; accepted forms: cpu, cuda:N, ..."),
    C("spec", RUN + ["mobilenet_v2,framework=torch,resource=edgetpu"], 2,
      "edgemt: SPEC ...: resource edgetpu runs only framework=tflite (EdgeTPU models are TFLite)"),
    C("spec", RUN + ["mobilenet_v2,framework=tflite,resource=cuda:0"], 2,
      "edgemt: SPEC ...: tflite does not run on cuda:0; tflite runs on cpu or edgetpu"),
    C("spec", RUN + ["mobilenet_v2,batch=0"], 2,
      "edgemt: SPEC ...: batch 0 is out of range; a batch is a whole number from 1 to 4096"),
    C("spec", RUN + ["mobilenet_v2,batch=-2"], 2, "edgemt: SPEC ...: batch -2 is out of range; ..."),
    C("spec", RUN + ["mobilenet_v2,batch=many"], 2, "edgemt: SPEC ...: batch 'many' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,batch=99999999"], 2, "edgemt: SPEC ...: batch 99999999 is out of range; ..."),
    C("spec", RUN + ["mobilenet_v2,batch=1_0"], 2, "edgemt: SPEC ...: batch '1_0' is not a whole number; ...",
      note="was: ran batch 10"),
    C("spec", RUN + ["mobilenet_v2,batch=\uff12"], 2, "edgemt: SPEC ...: batch '\uff12' is not a whole number; ...",
      note="a full-width digit; was: ran batch 2"),
    C("spec", RUN + ["mobilenet_v2,batch=2.0"], 2, "edgemt: SPEC ...: batch '2.0' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,batch=1e2"], 2, "edgemt: SPEC ...: batch '1e2' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,batch=0x10"], 2, "edgemt: SPEC ...: batch '0x10' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,batch=3,batch=4"], 2, "edgemt: SPEC ...: key 'batch' given twice"),
    C("spec", RUN + ["mobilenet_v2,batch="], 2, "edgemt: SPEC ...: batch= has no value"),
    C("spec", RUN + ["mobilenet_v2,count=0"], 2,
      "edgemt: SPEC ...: count='0' is out of range; count takes a whole number from 1 to 256"),
    C("spec", RUN + ["mobilenet_v2,count=abc"], 2, "edgemt: SPEC ...: count='abc' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,count=2.5"], 2, "edgemt: SPEC ...: count='2.5' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,count=+3"], 2, "edgemt: SPEC ...: count='+3' is not a whole number; ..."),
    C("spec", RUN + ["mobilenet_v2,count=257"], 2,
      "edgemt: SPEC ...: count=257 is over the process isolation limit of 256; use isolation=thread for more"),
    C("spec", RUN + ["mobilenet_v2,framework=tflite,count=100000"], 2,
      "edgemt: SPEC ...: count=100000 is over the thread isolation limit of 4096"),
    C("spec", RUN + ["mobilenet_v2,threads=0"], 2,
      "edgemt: SPEC ...: threads='0' is out of range; threads takes a whole number from 1 to ... cores here)"),
    C("spec", RUN + ["mobilenet_v2,threads=100000"], 2,
      "edgemt: SPEC ...: threads='100000' is out of range; threads takes a whole number from 1 to ... (4 a core, ... cores here)",
      note="was: started and died with SIGSEGV"),
    C("spec", RUN + ["mobilenet_v2,isolation=fork"], 2, "edgemt: SPEC ...: isolation='fork'; accepted: process, thread"),
    C("spec", RUN + ["mobilenet_v2,framework=torch,autotune=1"], 2,
      "edgemt: SPEC ...: autotune= is an mxnet option (MXNET_CUDNN_AUTOTUNE_DEFAULT)"),
    C("spec", RUN + ["mobilenet_v2,framework=mxnet,autotune=maybe"], 2,
      "edgemt: SPEC ...: autotune='maybe'; accepted: 0, 1, true, false, on, off"),
    C("spec", RUN + ["mobilenet_v2,,count=1"], 2,
      "edgemt: SPEC 'mobilenet_v2,,count=1' has an empty item; items are key=value pairs joined by commas"),
    C("spec", RUN + ["mobilenet_v2,speed=9"], 2, "edgemt: SPEC ...: unknown key 'speed'; accepted keys: model, framework, ..."),
    # open loop: rate=, arrival=, seed=, queue=, slo=, rt=
    C("spec", RUN + ["mobilenet_v2,rate=0"], 2,
      "edgemt: SPEC ...: rate='0' is out of range; rate takes queries a second, a number from 0.001 to 100000"),
    C("spec", RUN + ["mobilenet_v2,rate=fast"], 2, "edgemt: SPEC ...: rate='fast' is not a number; ..."),
    C("spec", RUN + ["mobilenet_v2,rate=nan"], 2, "edgemt: SPEC ...: rate='nan' is not a number; ..."),
    C("spec", RUN + ["mobilenet_v2,rate=5,arrival=burst"], 2,
      "edgemt: SPEC ...: arrival='burst'; accepted: constant, poisson, trace:FILE"),
    C("spec", RUN + ["mobilenet_v2,arrival=poisson"], 2,
      "edgemt: SPEC ...: arrival=poisson needs rate= (queries a second), e.g. rate=15"),
    C("spec", RUN + ["mobilenet_v2,arrival=trace:/no/such/trace.txt"], 2,
      "edgemt: SPEC ...: arrival=trace:/no/such/trace.txt is not a file; a trace is a file of inter-arrival "
      "times in seconds, one a line"),
    C("spec", RUN + ["mobilenet_v2,arrival=trace:{notes_txt}"], 2,
      "edgemt: SPEC ...: arrival=trace:...: line 1: 'my notes, not a database' is not a number of seconds; ...",
      setup=("notes_txt",)),
    C("spec", RUN + ["mobilenet_v2,rate=5,seed=1"], 2,
      "edgemt: SPEC ...: seed= seeds arrival=poisson; arrival=constant has no randomness"),
    C("spec", RUN + ["mobilenet_v2,queue=5"], 2,
      "edgemt: SPEC ...: queue= is for open-loop tenants; give rate= (queries a second) too"),
    C("spec", RUN + ["mobilenet_v2,rate=5,queue=0"], 2,
      "edgemt: SPEC ...: queue='0' is out of range; queue takes a whole number from 1 to 100000"),
    C("spec", RUN + ["mobilenet_v2,rate=5,slo=soon"], 2,
      "edgemt: SPEC ...: slo='soon'; slo takes MS (the p99 bound in milliseconds) or pN:MS, e.g. 100 or p90:100"),
    C("spec", RUN + ["mobilenet_v2,rate=5,slo=0"], 2,
      "edgemt: SPEC ...: slo='0': '0' is out of range; slo takes milliseconds, a number from 0.001 to 3600000"),
    C("spec", RUN + ["mobilenet_v2,rate=5,slo=p100:50"], 2,
      "edgemt: SPEC ...: slo='p100:50': percentile p100 is out of range; ..."),
    C("spec", RUN + ["mobilenet_v2,rt=on"], 2,
      "edgemt: SPEC ...: rt= is for open-loop tenants; give rate= (queries a second) too"),
    C("spec", RUN + ["mobilenet_v2,rate=5,rt=always"], 2,
      "edgemt: SPEC ...: rt='always'; accepted: 0, 1, true, false, on, off"),
    C("spec", RUN + ["mobilenet_v2,batch"], 2, "edgemt: SPEC ...: 'batch' is not key=value; ..."),
    C("spec", RUN + ["=3"], 2, "edgemt: SPEC '=3': unknown key ''; ..."),
    C("spec", RUN + [""], 2, "edgemt: empty SPEC; expected e.g. mobilenet_v2,framework=torch,..."),
    C("spec", RUN + ["framework=torch"], 2, "edgemt: SPEC 'framework=torch' names no model; ..."),
    C("spec", RUN + ["file=/no/such/model.pt"], 2, "edgemt: SPEC ...: file='/no/such/model.pt' does not exist or is not a file"),
    C("spec", RUN + ["file={home}"], 2, "edgemt: SPEC ...: file=... does not exist or is not a file", note="a folder"),
    C("spec", RUN + ["mobilenet_v2,size=7"], 2, "edgemt: SPEC ...: size= is for file= models; mobilenet_v2 takes 224x224 inputs"),
    C("spec", RUN + ["file={notes_txt},size=7"], 2,
      "edgemt: SPEC ...: size='7' is out of range; size takes a whole number from 32 to 2048", setup=("notes_txt",)),
    C("spec", RUN + ["mobilenet_v2,framework=tflite,file={edgetpu_tflite}"], 2,
      "edgemt: SPEC ...: ... is compiled for the EdgeTPU (it holds an edgetpu-custom-op): on cpu ...",
      setup=("edgetpu_tflite",)),
    C("spec", RUN + ["mobilenet_v2,framework=tflite,threads=1,file={notes_txt}"], 2,
      "edgemt: file=... does not run on tflite@cpu: ... is not a TFLite model (no TFL3 flatbuffer identifier)",
      setup=("notes_txt",), real=True, note="loaded and run once in a tflite child before anything starts"),
    C("spec", RUN + ["mobilenet_v2,framework=mxnet"], 2, "edgemt: the mxnet interpreter /nonexistent/bin/python (from config) does not exist: "
      "'edgemt env create mxnet' or 'edgemt env use mxnet PYTHON'",
      config='[envs]\nmxnet = "/nonexistent/bin/python"\n', note="configured interpreter missing"),

    # -- image folders --------------------------------------------------------------------
    C("images", MV2 + ["--images", "/no/such/folder"], 2,
      "edgemt: --images '/no/such/folder' is not a folder; give a folder of images (flat or one folder per class)"),
    C("images", MV2 + ["--images", "{empty_dir}"], 2, "edgemt: --images ... is empty; give a folder of images (JPEG, PNG, ...)",
      setup=("empty_dir",)),
    C("images", MV2 + ["--images", "{junk_images}"], 2,
      "edgemt: --images ... holds no readable image (3 files, none decodes)", setup=("junk_images",),
      note="a bad JPEG, a text file, a zero-byte PNG"),
    C("images", MV2 + ["--images", "{bomb_images}"], 2, "edgemt: --images ... holds no readable image (1 files, none decodes)",
      setup=("bomb_images",), note="only a PNG header claiming 20000x20000: Pillow's bomb guard"),
    C("images", MV2 + ["--images", "{deep_images}"], 2,
      "edgemt: --images ... holds its 2 files more than one folder down; edgemt reads the folder's own files "
      "and one level of class folders (folder/CLASS/image.jpg)", setup=("deep_images",),
      note="was: passed the check, then failed every tenant after the run started (exit 3)"),
    C("images", MV2 + ["--images", "{hidden_images}"], 2, "edgemt: --images ... is empty; ...", setup=("hidden_images",),
      note="only hidden files (.a.png): the runners skip them, so does the check"),
    C("images", MV2 + ["--images", "{notes_txt}"], 2, "edgemt: --images ... is not a folder; ...", setup=("notes_txt",)),

    # -- DB files -------------------------------------------------------------------------
    C("db", MV2 + ["--db", "/dev/null/edgemt.db"], 2,
      "edgemt: --db /dev/null/edgemt.db: folder /dev/null is not writable; give a path in a folder you can write to"),
    C("db", MV2 + ["--db", "{notes_txt}"], 2, "edgemt: --db ... is not an SQLite database; give a new path or an edgemt DB",
      setup=("notes_txt",)),
    C("db", MV2 + ["--db", "{home}"], 2, "edgemt: --db ... is a folder; give a file path such as .../edgemt.db"),
    C("db", MV2 + ["--db", "/dev/null"], 2, "edgemt: --db /dev/null is not a regular file; ..."),
    C("db", MV2 + ["--db", "{other_db}"], 2,
      "edgemt: --db ... is another program's SQLite database (tables: runs); edgemt writes only to a new file or its "
      "own DB: give another --db", setup=("other_db",),
      note="a `runs` table of its own; was: a traceback after edgemt had set user_version and added its tables"),
    C("db", MV2 + ["--db", "{other_db_tables}"], 2,
      "edgemt: --db ... is another program's SQLite database (tables: notes, people); ...", setup=("other_db_tables",),
      note="was: edgemt silently added its six tables"),
    C("db", MV2 + ["--db", "{app_db}"], 2,
      "edgemt: --db ... is another program's SQLite database (application id 0x5042, tables: t); ...",
      setup=("app_db",), note="another program's application id"),
    C("db", MV2 + ["--db", "{newer_db}"], 2,
      "edgemt: --db ... has schema version 99, newer than this edgemt's 1: upgrade edgemt or give another --db",
      setup=("newer_db",)),
    C("db", MV2 + ["--db", "{cut_db}"], 2, "edgemt: --db ... is not a readable SQLite database (...)", setup=("cut_db",),
      note="cut off after 6000 bytes"),
    C("db", ["export", "--db", "{cut_db}", "--out", "{home}/x.csv"], 2,
      "edgemt: --db ... is not a readable SQLite database (...)", setup=("cut_db",)),
    C("db", ["export", "--db", "{other_db}", "--out", "{home}/x.csv"], 2,
      "edgemt: --db ... is another program's SQLite database (tables: runs); ...", setup=("other_db",)),
    C("db", ["report", "--db", "{other_db_tables}"], 2,
      "edgemt: --db ... is another program's SQLite database ...", setup=("other_db_tables",)),
    C("db", ["report", "--fleet", "F1"], 2,
      "edgemt: the DB holds no fleet run (no run has params.fleet); give the --db of edgemt fleet run, or a RUN"),
    C("db", ["correlate", "--db", "{empty_file}"], 2,
      "edgemt: --db ... holds no edgemt data (an empty file); give an edgemt DB", setup=("empty_file",)),
    C("db", ["sweep", "batch", "--tenant", "mobilenet_v2", "--db", "{other_db}"], 2,
      "edgemt: --db ... is another program's SQLite database ...", setup=("other_db",)),
    C("db", ["sweep", "batch", "--tenant", "mobilenet_v2", "--resume", "7"], 2, "edgemt: --resume 7: no such run in ..."),
    C("db", ["merge", "{other_db}", "--out", "{home}/merged.db"], 2,
      "edgemt: merge source ... is another program's SQLite database (tables: runs); edgemt writes only to a new "
      "file or its own DB: give edgemt DBs", setup=("other_db",), note="was: an empty output DB left behind"),
    C("db", ["merge", "{db}", "--out", "{notes_txt}"], 2,
      "edgemt: --out ... is not an SQLite database; give a new path or an edgemt DB", setup=("notes_txt",),
      note="was: the message named --db"),
    C("db", ["merge", "{db}", "--out", "{other_db}"], 2,
      "edgemt: --out ... is another program's SQLite database (tables: runs); ...", setup=("other_db",)),
    C("db", ["merge", "{db}", "--out", "{db}"], 2, "edgemt: --out ... is also a source; give a new file for --out"),
    C("db", ["merge", "{home}/nosuch.db", "--out", "{home}/m.db"], 2, "edgemt: .../nosuch.db does not exist; give edgemt DB files to merge"),
    C("db", ["diff", "1", "2", "--db", "{home}/nosuch.db"], 2, "edgemt: --db .../nosuch.db does not exist; ..."),

    # -- config.toml ----------------------------------------------------------------------
    C("config", MV2, 2, "edgemt: config ...: key 'window_s' (window length in seconds) must be int or float, not str 'one'",
      config='window_s = "one"\n'),
    C("config", MV2, 2, "edgemt: config ...: key 'window_s' (window length in seconds): nan is not a finite number; "
      "give seconds from 0.1 to 60", config="window_s = nan\n", note="was: a traceback and a failed run in the DB"),
    C("config", MV2, 2, "edgemt: config ...: key 'window_s' (...): inf is not a finite number; ...", config="window_s = inf\n",
      note="was: never ended"),
    C("config", MV2, 2, "edgemt: config ...: key 'window_s' (...): -1 is not positive; ...", config="window_s = -1\n"),
    C("config", MV2, 2, "edgemt: config ...: key 'window_s' (...): 3600 is out of range; ...", config="window_s = 3600\n"),
    C("config", MV2 + ["--duration", "2"], 2,
      "edgemt: window_s in config.toml 5 s is longer than --duration 2 s; ...", config="window_s = 5\n"),
    C("config", MV2, 2, "edgemt: config ...: key 'sample_hz' (resource sampling rate): 1000000000.0 is out of range; "
      "give samples a second from 0.01 to 100", config="sample_hz = 1e9\n", note="was: a busy loop writing thousands of samples a second"),
    C("config", MV2, 2, "edgemt: config ...: key 'sample_hz' (resource sampling rate) must be int or float, not bool True",
      config="sample_hz = true\n"),
    C("config", MV2, 2, "edgemt: config ...: key 'step' (...) must be int, not float 2.5", config="step = 2.5\n"),
    C("config", MV2, 2, "edgemt: config ...: key 'step' (...): 0 is out of range; give a whole number from 1 to 256",
      config="step = 0\n"),
    C("config", MV2, 2, "edgemt: config ...: key 'theme' (UI theme name) must be str, not int 5", config="theme = 5\n"),
    C("config", MV2, 2, "edgemt: config ...: unknown key 'colour'; known keys: db, sample_hz, step, theme, window_s, envs",
      config='colour = "red"\n'),
    C("config", MV2, 2, "edgemt: config ...: unknown key 'ui'; ...", config="[ui]\ntheme = 'x'\n",
      note="an unknown section"),
    C("config", MV2, 2, "edgemt: config ...: [envs] unknown framework 'caffe'; known: torch, tensorflow, tflite, mxnet...",
      config='[envs]\ncaffe = "/usr/bin/python3"\n'),
    C("config", MV2, 2, "edgemt: config file ... is not valid TOML: ...", config="window_s = \n"),
    C("config", MV2, 2, "edgemt: config ...: [envs] must map framework names to interpreter paths (strings)",
      config="[envs]\ntorch = 3\n"),

    # -- export and report ----------------------------------------------------------------
    C("export", ["export", "--table", "nosuch", "--out", "{home}/x.csv"], 2,
      "edgemt: --table 'nosuch' is not a table; accepted: timeline, runs, tenants, ..."),
    C("export", ["export", "--run", "999", "--out", "{home}/x.csv"], 2, "edgemt: --run 999 is not in the DB; runs: 1",
      note="was: the DB's bytes changed"),
    C("export", ["export", "--out", "/no/such/folder/x.csv"], 2,
      "edgemt: --out /no/such/folder/x.csv: folder /no/such/folder does not exist or is not writable"),
    C("export", ["export", "--out", "{home}"], 2, "edgemt: --out ... is a folder; give a file name such as .../run.csv"),
    C("export", ["export", "--out", "{db}"], 2,
      "edgemt: --out ... is an SQLite database; a CSV written there would destroy it: give a new file name such as run.csv",
      note="the run log itself"),
    C("export", ["export", "--out", "/dev/full"], 2, "edgemt: --out /dev/full cannot be written: No space left on device",
      note="was: a traceback"),
    C("export", ["export", "--out", "{home}/x.csv", "--db", "{home}/nosuch.db"], 2,
      "edgemt: --db .../nosuch.db does not exist; run something first or give another --db"),
    C("export", ["export", "--out", "{home}/x.csv", "--db", "{empty_edgemt_db}"], 2, "edgemt: the DB holds no run to export",
      setup=("empty_edgemt_db",)),
    C("export", ["report", "--csv", "/no/such/folder/r.csv"], 2,
      "edgemt: --csv /no/such/folder/r.csv: folder /no/such/folder does not exist or is not writable",
      note="was: the message named --out"),
    C("export", ["report", "--plot", "{home}/p.gif"], 2, "edgemt: --plot '.../p.gif': give a .png or .svg file name"),
    C("export", ["report", "7"], 2, "edgemt: ...7..."),

    # -- a second round, as a new user and as someone trying to break it --------------------
    C("round2", MV2 + ["--images", ""], 2,
      "edgemt: --images '' is empty; give a folder of images (flat or one folder per class)",
      note="`--images \"$DIR\"` with DIR unset; was: the built-in images, silently"),
    C("round2", MV2 + ["--db", ""], 2, "edgemt: --db '' is empty; give a file path such as edgemt.db",
      note="`--db \"$DB\"` with DB unset; was: the default DB, silently"),
    C("round2", MV2, 2, "edgemt: EDGEMT_DB ... is a folder; give a file path such as .../edgemt.db",
      env={"EDGEMT_DB": "{home}"}, note="was: the message named --db, which was not given"),
    C("round2", MV2, 2, "edgemt: db in config.toml ... is another program's SQLite database (tables: runs); ...",
      config='db = "{other_db}"', setup=("other_db",)),
    C("round2", MV2 + ["--tenant", "mobilenet_v2,count=200"] + ["--tenant", "mobilenet_v2,count=200"], 2,
      "edgemt: 3 SPECs start 401 runner processes together, over the limit of 256; use isolation=thread or "
      "fewer tenants", note="was: each SPEC under its cap, 400 processes together"),
    C("round2", RUN + ["mobilenet_v2," + "x" * 5000], 2,
      "edgemt: SPEC 'mobilenet_v2,xxxxxxxxxx...' is not key=value; only the first item may be a bare model name",
      note="a 5000-character SPEC: quoted short"),
    C("round2", ["env", "use", "torch", "/bin/true"], 2,
      "edgemt: '/bin/true' does not run torch: probe exited 0: no output; nothing saved: give a python that imports torch",
      note="was: saved in config.toml, every later run failed"),
    C("round2", ["export", "--db", "{weird_db}", "--run", "999", "--out", "{home}/x.csv"], 2,
      "edgemt: --run 999 is not in the DB; runs: 1", setup=("weird_db",),
      note="a DB named `we?ird#%.db`: a hand-made file: URI misreads ?, # and %"),
    C("round2", ["export", "--out", "{home}/x.csv"], 2, "edgemt: config file ... cannot be read: Is a directory",
      setup=("config_is_dir",)),
    C("round2", ["export", "--out", "{home}/x.csv"], 2, "edgemt: config file ... is not valid TOML: ...",
      setup=("config_not_utf8",)),
    C("round2", ["models", "prepare", "tflite", "mobilenet_v2", "--out", "/dev/null/x"], 2,
      "edgemt: --out /dev/null/x: /dev/null is not a folder you can write to; give a folder for the models",
      note="was: a traceback from the tensorflow child, exit 1"),
    C("round2", ["models", "prepare", "tflite", "mobilenet_v2", "--images", "/no/such"], 2,
      "edgemt: --images '/no/such' is not a folder; ...", note="was: a traceback after the model was built"),
    C("round2", ["models", "prepare", "tflite", "--edgetpu", "nosuch"], 2,
      "edgemt: model 'nosuch' has no TFLite version; accepted: inception_v3, mobilenet_v1, mobilenet_v2",
      note="model names after an option; was: 'unrecognized arguments'"),
    C("round2", MV2 + ["--db", "{home}/" + LONG + ".db"], 2, "edgemt: --db ...aaa.db: File name too long; give another path",
      note="a name past NAME_MAX (255); was: a traceback, as for each of the next three"),
    C("round2", ["export", "--out", "{home}/" + LONG + ".csv"], 2, "edgemt: --out ...: File name too long; give another path"),
    C("round2", MV2 + ["--images", "{home}/" + LONG], 2, "edgemt: --images ...: File name too long; give another path"),
    C("round2", RUN + ["file={home}/" + LONG], 2, "edgemt: --tenant ...: File name too long; give another path"),
    C("round2", MV2 + ["--db", "{loop}"], 2, "edgemt: --db .../loop1 cannot be written: unable to open database file",
      setup=("loop",), note="a loop of symbolic links", real=True),  # checked after the torch probe
    C("round2", ["export", "--out", "{other_db}"], 2, "edgemt: --out ... is an SQLite database; ...",
      setup=("other_db",), note="any SQLite file, not only the run log"),
    C("round2", ["merge", "{db}", "--out", "{home}/m.db", "--json"], 0, "", db="read",
      note="a merge that works: its source is read, never written"),
    C("round2", ["export", "--out", "{home}/x.csv"], 0, "", db="read", note="an export that works: the DB keeps its bytes"),
    C("round2", RUN + [T + ",file={tflite_model}", "--json"], 130,
      "edgemt: interrupted by Ctrl-C (SIGINT) while ..., after ... s; nothing was started", action="sigint_in_check",
      setup=("tflite_model",), real=True,
      note="Ctrl-C during the checks before a run; was: 'loading it took over 300 s'"),

    # -- closed and broken streams, interruptions, faults (real runs) ----------------------
    C("streams", ["export", "--out", "/dev/stdout"], 141, "", action="close_stdout",
      note="stdout closed by its reader: quiet, as a command killed by SIGPIPE"),
    C("streams", ["export", "--out", "-"], 141, "", action="close_stdout",
      note="`export --out - | head -1`: the CSV on standard output"),
    C("streams", ["models", "--json"], 1, "edgemt: cannot write standard output: No space left on device",
      action="stdout_full", note="`> /dev/full`"),
    C("streams", RUN + [T, "--duration", "1", "--window", "0.5", "--json"], 141, "", db="run", action="close_stdout",
      real=True, stored=("SELECT status FROM runs", ("done",)), note="`| head -c 10`; was: a BrokenPipeError traceback"),
    C("streams", RUN + [T, "--duration", "1", "--window", "0.5"], 141, "", db="run", action="close_stdout",
      real=True, stored=("SELECT status FROM runs", ("done",)), note="`| head -1`; was: exit 1 without a word"),
    C("streams", RUN + [T, "--duration", "30", "--window", "0.5", "--json"], 130,
      "edgemt: stopped by SIGINT (Ctrl-C) after ... s measured; run 1 is stored as interrupted", db="run",
      action="sigint", real=True, stored=("SELECT status FROM runs", ("interrupted",)),
      note="was: exit 0, and a negative measured time when stopped in warm-up"),
    C("streams", RUN + [T, "--duration", "30", "--window", "0.5", "--json"], 130,
      "edgemt: stopped by SIGTERM after ... s measured; run 1 is stored as interrupted", db="run",
      action="sigterm", real=True, stored=("SELECT status FROM runs", ("interrupted",)),
      note="the same status for every way the user stops a run"),
    C("streams", RUN + [T, "--duration", "1", "--window", "0.5", "--json"], 1,
      "edgemt: cannot write standard output: No space left on device", db="run", action="stdout_full", real=True,
      stored=("SELECT status FROM runs", ("done",)), note="the run is stored before its summary is printed"),
    C("streams", RUN + [T, "--duration", "30", "--window", "0.5", "--json"], 3, "", db="run", action="segv_runner",
      real=True, stored=("SELECT error FROM tenants", ("runner process ... was killed by SIGSEGV (a crash in the "
                                                       "framework's native code, often too many threads or too "
                                                       "little memory)...",)),
      note="was: the runtime's last INFO line as the reason"),
]


# -- files the cases use ------------------------------------------------------------------------
def _sqlite(path, sql, app_id=0, version=0):
    import sqlite3

    c = sqlite3.connect(path)
    c.executescript(sql)
    if app_id:
        c.execute(f"PRAGMA application_id = {app_id}")
    if version:
        c.execute(f"PRAGMA user_version = {version}")
    c.commit()
    c.close()
    return path


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height (a decompression bomb's first bytes)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def _good_png(path):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (200, 30, 40)).save(path)
    return path


def _dir(home, name):
    d = home / name
    d.mkdir()
    return d


def _junk(home):
    d = _dir(home, "junk")
    (d / "a.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (d / "b.txt").write_text("hello")
    (d / "zero.png").write_bytes(b"")
    return d


def _deep(home):
    d = _dir(home, "deep")
    _good_png(d / "set" / "cat" / "1.png")
    _good_png(d / "set" / "dog" / "2.png")
    return d


def _hidden(home):
    d = _dir(home, "hidden")
    _good_png(d / ".a.png")
    return d


def _cut(home):
    good = _sqlite(home / "good.db", "CREATE TABLE a (x);")
    import sqlite3

    c = sqlite3.connect(good)
    c.executemany("INSERT INTO a VALUES (?)", [("x" * 500,)] * 200)
    c.commit()
    c.close()
    cut = home / "cut.db"
    cut.write_bytes(good.read_bytes()[:6000])
    good.unlink()
    return cut


def _empty_edgemt_db(home):
    from storage.store import Store

    Store(home / "empty-edgemt.db").close()
    return home / "empty-edgemt.db"


def _edgetpu_tflite(home):
    p = home / "m_edgetpu.tflite"
    p.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64 + b"edgetpu-custom-op" + b"\x00" * 16)
    return p


def _weird_db(home):
    from storage.store import Store

    p = home / "we?ird#%.db"
    st = Store(p)
    st.end_run(st.create_run("run", {}), "done")
    st.close()
    return p


def _config_is_dir(home):
    cfg = home / "config" / "edgemt" / "config.toml"
    cfg.unlink()
    cfg.mkdir()
    return cfg


def _config_not_utf8(home):
    cfg = home / "config" / "edgemt" / "config.toml"
    cfg.write_bytes(b"theme = \"\xff\xfe\"\n")
    return cfg


def _tflite_model(home):
    from edgemt_testlib import ensure_tflite_model

    return ensure_tflite_model("mobilenet_v2")


def _loop(home):
    (home / "loop1").symlink_to(home / "loop2")
    (home / "loop2").symlink_to(home / "loop1")
    return home / "loop1"


SETUPS = {
    "loop": _loop,
    "weird_db": _weird_db,
    "config_is_dir": _config_is_dir,
    "config_not_utf8": _config_not_utf8,
    "tflite_model": _tflite_model,
    "notes_txt": lambda home: (home / "notes.txt", (home / "notes.txt").write_text("my notes, not a database\n" * 20))[0],
    "empty_dir": lambda home: _dir(home, "empty"),
    "empty_file": lambda home: (home / "empty.db", (home / "empty.db").write_bytes(b""))[0],
    "junk_images": _junk,
    "bomb_images": lambda home: _png_header_only(_dir(home, "bomb") / "huge.png", 20000, 20000).parent,
    "deep_images": _deep,
    "hidden_images": _hidden,
    "other_db": lambda home: _sqlite(home / "other.db", "CREATE TABLE runs (x); INSERT INTO runs VALUES (1);"),
    "other_db_tables": lambda home: _sqlite(home / "people.db", "CREATE TABLE people (name); CREATE TABLE notes (t);"
                                                                 "INSERT INTO people VALUES ('ann');"),
    "app_db": lambda home: _sqlite(home / "app.db", "CREATE TABLE t (x);", app_id=0x5042),
    "newer_db": lambda home: _sqlite(home / "future.db", "CREATE TABLE keep (x); INSERT INTO keep VALUES (1);",
                                     app_id=0x45444D54, version=99),
    "cut_db": _cut,
    "empty_edgemt_db": _empty_edgemt_db,
    "edgetpu_tflite": _edgetpu_tflite,
}


def case_id(i: int, case: Case) -> str:
    return f"{i + 1:03d}-{case.section}"
