#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge a guestgate test run on the host, from the files guest.sh wrote.

A run fails on a failed or missing KUnit case, kselftest or lifecycle step,
on a lint failure, when the VM did not finish, on any WARNING, BUG, Oops,
lockdep, KASAN, RCU stall, hung task or kmemleak report in the guest's dmesg,
on a taint other than out-of-tree/unsigned module and KUnit, and on any
kmemleak report but the canary's.

Two suites check the checks: "canary" requires the detectors to have caught
the WARN, the leak and the use after free (unregister without its grace
periods) that guest.sh plants after the run, "judge" runs this judge on
canned results that it must fail.

Prints one line per suite, the failures, and last the plain summary line
"N passed, N failed, N skipped". Exits 1 on any failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# Guest dmesg lines that fail a run, whatever the assertions said.
SPLATS = [
    r"WARNING:",
    r"BUG:",
    r"kernel BUG at",
    r"Oops",
    r"general protection fault",
    r"Kernel panic",
    r"UBSAN:",
    r"INFO: (possible|inconsistent|trying to register)",
    r"DEBUG_LOCKS_WARN_ON",
    r"turning off the locking correctness validator",
    r"rcu: INFO: .*detected stall",
    r"self-detected stall",
    r"INFO: task .* blocked for more than",
    r"soft lockup",
    r"hard LOCKUP",
    r"kmemleak: .*suspected memory leak",
    r"kmemleak: Kernel memory leak detector disabled",
]
SPLAT_RE = re.compile("|".join(SPLATS))

# Taints a test run may carry: O (out-of-tree module), E (unsigned module),
# N (KUnit test ran).
ALLOWED_TAINT = (1 << 12) | (1 << 13) | (1 << 18)
TAINT_FLAGS = "PFSRMBUDAWCIOELKXTN"

TAP_RE = re.compile(r"^(ok|not ok) (\d+)\s*-?\s*([^#]*?)\s*(#\s*(.*))?$")


class Suite:
    """Counts of one suite and the reasons of its failures."""

    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, status, what, detail=""):
        if status == "PASS":
            self.passed += 1
        elif status == "SKIP":
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(what + (": " + detail if detail else ""))


def parse_tap(suite, path, prefix=""):
    """Top-level results of a TAP/KTAP file; checks the plan."""
    plan = None
    seen = 0
    with open(path, errors="replace") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^1\.\.(\d+)", line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP_RE.match(line)
        if not m:
            continue
        seen += 1
        ok, _, desc, _, directive = m.groups()
        name = prefix + desc.strip()
        if directive and directive.upper().startswith("SKIP"):
            suite.add("SKIP", name)
        elif ok == "ok":
            suite.add("PASS", name)
        else:
            # The diagnostics a failure printed before its line.
            ctx = [l.strip("# ").strip() for l in lines[max(0, i - 6):i] if l.startswith("#")]
            suite.add("FAIL", name, " | ".join(c for c in ctx if c))
    if plan is None:
        suite.add("FAIL", prefix + "plan", "no '1..N' line in " + path)
    elif plan != seen:
        suite.add("FAIL", prefix + "plan", "planned %d, reported %d" % (plan, seen))


def expected_kunit_suites():
    names = []
    kdir = os.path.join(TOP, "tools", "testing", "kunit")
    for fn in sorted(os.listdir(kdir)):
        if fn.endswith(".c"):
            with open(os.path.join(kdir, fn)) as f:
                names += re.findall(r'\.name\s*=\s*"([^"]+)"', f.read())
    return names


def expected_kselftests():
    with open(os.path.join(TOP, "tools", "testing", "selftests", "guestgate", "Makefile")) as f:
        m = re.search(r"^TEST_GEN_PROGS\s*:?=\s*(.*)$", f.read(), re.M)
    return m.group(1).split() if m else []


def judge_kunit(results, kdir):
    suite = Suite("kunit")
    kunit_py = os.path.join(kdir, "tools", "testing", "kunit", "kunit.py")
    for name in expected_kunit_suites():
        path = os.path.join(results, "kunit", name + ".ktap")
        if not os.path.exists(path):
            suite.add("FAIL", name, "suite never reported")
            continue
        with tempfile.NamedTemporaryFile(suffix=".json") as js:
            subprocess.run([sys.executable, kunit_py, "parse", "--json=" + js.name, path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                doc = json.load(open(js.name))
            except ValueError:
                suite.add("FAIL", name, "kunit.py could not parse " + path)
                continue
        cases = [c for g in doc.get("sub_groups", []) for c in g.get("test_cases", [])]
        if not cases:
            suite.add("FAIL", name, "no test case in " + path)
        for c in cases:
            detail = ""
            if c["status"] not in ("PASS", "SKIP"):
                with open(path, errors="replace") as f:
                    detail = " | ".join(l.strip().lstrip("# ") for l in f
                                        if "Expected" in l or "expected" in l or "ASSERT" in l)
            suite.add(c["status"], name + "." + c["name"], detail)
    return suite


def judge_kselftests(results):
    suite = Suite("kselftest")
    for name in expected_kselftests():
        tap = os.path.join(results, "kselftest", name + ".tap")
        if not os.path.exists(tap):
            suite.add("FAIL", name, "never ran")
            continue
        before = suite.failed
        parse_tap(suite, tap, name + ".")
        rc = open(os.path.join(results, "kselftest", name + ".rc")).read().strip()
        if rc not in ("0", "4") and suite.failed == before:
            suite.add("FAIL", name, "exit status " + rc)
    return suite


def splats(path):
    """The lines of a kernel log that fail a run."""
    with open(path, errors="replace") as f:
        return [l.rstrip() for l in f if SPLAT_RE.search(l)]


CANARY_MARK = "gg-canary-leak"
# The planted use after free of tools/testing/stress/perf_callbacks_stress.c.
UAF_RE = re.compile(r"BUG: KASAN: [a-z-]*use-after-free in uaf_")


def kmemleak_reports(path):
    """The reports of a kmemleak file, one string each."""
    with open(path, errors="replace") as f:
        text = f.read()
    return ["unreferenced object" + r for r in text.split("unreferenced object")[1:]]


def judge_kernel(results):
    """The guest kernel's own detectors: log, taint, kmemleak."""
    suite = Suite("kernel")
    path = os.path.join(results, "dmesg.txt")
    if not os.path.exists(path):
        path = os.path.join(results, "console.log")
    hits = splats(path)
    suite.add("FAIL" if hits else "PASS", "no splat in the guest's dmesg", " | ".join(hits[:8]))
    taint_file = os.path.join(results, "tainted")
    if os.path.exists(taint_file):
        taint = int(open(taint_file).read().strip() or "0")
        bad = taint & ~ALLOWED_TAINT
        flags = "".join(c for i, c in enumerate(TAINT_FLAGS) if bad & (1 << i))
        suite.add("FAIL" if bad else "PASS", "kernel not tainted", "taint %#x (%s)" % (taint, flags))
    leak_file = os.path.join(results, "kmemleak.txt")
    if not os.path.exists(leak_file):
        suite.add("FAIL", "kmemleak ran", "no " + leak_file)
    else:
        leaks = [r for r in kmemleak_reports(leak_file) if CANARY_MARK not in r]
        suite.add("FAIL" if leaks else "PASS", "kmemleak: nothing leaked",
                  " | ".join(l.splitlines()[0] for l in leaks[:4]))
    return suite


def judge_canary(results):
    """The detectors caught the planted WARN, leak and use after free."""
    suite = Suite("canary")
    d = os.path.join(results, "canary")
    if not os.path.isdir(d):
        suite.add("FAIL", "canary ran", "no " + d)
        return suite
    hits = splats(os.path.join(d, "dmesg.txt"))
    suite.add("PASS" if any("guestgate_canary" in h for h in hits) else "FAIL",
              "the dmesg check flags the canary's WARN")
    suite.add("PASS" if any(UAF_RE.search(h) for h in hits) else "FAIL",
              "KASAN reports the use after unregister without grace periods",
              "no 'BUG: KASAN: ...use-after-free in uaf_*' line in " + os.path.join(d, "dmesg.txt"))
    leak_file = os.path.join(results, "kmemleak.txt")
    planted = os.path.exists(leak_file) and any(
        CANARY_MARK in r for r in kmemleak_reports(leak_file))
    suite.add("PASS" if planted else "FAIL", "kmemleak reports the canary's leak")
    return suite


def self_test(kdir):
    """The judge fails what it must fail, on canned results."""
    suite = Suite("judge")

    def expect(what, s, failed):
        suite.add("PASS" if (s.failed > 0) == failed else "FAIL", what,
                  "failures: %s" % s.failures)

    with tempfile.TemporaryDirectory() as t:
        def write(name, text):
            path = os.path.join(t, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            return path

        for what, tap, failed in (
                ("passing TAP passes", "1..2\nok 1 a\nok 2 b\n", False),
                ("a TAP plan with a missing result fails", "1..3\nok 1 a\nok 2 b\n", True),
                ("'not ok' fails", "1..1\nnot ok 1 a\n", True),
                ("TAP without a plan fails", "ok 1 a\n", True)):
            s = Suite("t")
            parse_tap(s, write("t.tap", tap))
            expect(what, s, failed)

        canary = ("unreferenced object 0xff1 (size 128):\n  hex dump (first 32 bytes):\n"
                  "    67 67  " + CANARY_MARK + "!.\n")
        other = "unreferenced object 0xff2 (size 64):\n  comm \"insmod\"\n"
        write("r/dmesg.txt", "[ 1.0] guestgate: loaded\n")
        write("r/tainted", "266240\n")
        write("r/kmemleak.txt", canary)
        expect("a clean dmesg, O+N taint and only the canary's leak pass",
               judge_kernel(os.path.join(t, "r")), False)
        write("l/dmesg.txt", "")
        write("l/kmemleak.txt", canary + other)
        expect("a leak beside the canary's fails", judge_kernel(os.path.join(t, "l")), True)
        write("n/dmesg.txt", "")
        expect("a run without kmemleak results fails", judge_kernel(os.path.join(t, "n")), True)
        for line in ("WARNING: CPU: 1 PID: 7 at x.c:1 f+0x0/0x10",
                     "BUG: KASAN: slab-use-after-free in f+0x1/0x2",
                     "WARNING: possible circular locking dependency detected",
                     "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
                     "kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)"):
            write("w/dmesg.txt", "[ 1.0] ok\n[ 2.0] " + line + "\n")
            write("w/kmemleak.txt", "")
            expect("dmesg with '%s' fails" % line[:40], judge_kernel(os.path.join(t, "w")), True)
        write("x/dmesg.txt", "")
        write("x/kmemleak.txt", "")
        write("x/tainted", str(266240 | 512))
        expect("taint W fails", judge_kernel(os.path.join(t, "x")), True)

        write("c/canary/dmesg.txt",
              "[ 1.0] WARNING: CPU: 0 PID: 1 at c.c:1 init_module+0x1/0x2 [guestgate_canary]\n"
              "[ 2.0] BUG: KASAN: slab-use-after-free in uaf_get_ip+0x96/0xc0 [guestgate_stress]\n")
        write("c/kmemleak.txt", canary)
        expect("a canary run whose detectors caught everything passes",
               judge_canary(os.path.join(t, "c")), False)
        write("c/canary/dmesg.txt",
              "[ 1.0] WARNING: CPU: 0 PID: 1 at c.c:1 init_module+0x1/0x2 [guestgate_canary]\n")
        expect("a canary run without KASAN's use-after-free report fails",
               judge_canary(os.path.join(t, "c")), True)

        os.makedirs(os.path.join(t, "e", "kunit"))
        os.makedirs(os.path.join(t, "e", "kselftest"))
        expect("a KUnit suite that never reported fails", judge_kunit(os.path.join(t, "e"), kdir), True)
        expect("a kselftest that never ran fails", judge_kselftests(os.path.join(t, "e")), True)
    return suite


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="the directory guest.sh wrote")
    ap.add_argument("--demo", action="store_true", help="judge a 'make run': no test suites")
    ap.add_argument("--lint", help="TAP file written by lint.sh")
    args = ap.parse_args()
    args.results = os.path.abspath(args.results)
    kdir = os.environ.get("KDIR") or subprocess.run(
        ["bash", os.path.join(TOP, "tools/testing/guestgate/gg-env"), "kdir"],
        capture_output=True, text=True).stdout.strip()

    suites = []
    vm = Suite("vm")
    finished = os.path.exists(os.path.join(args.results, "done"))
    vm.add("PASS" if finished else "FAIL", "the VM ran the tests to the end",
           "see " + os.path.join(args.results, "console.log"))
    suites.append(vm)
    if finished:
        life = Suite("lifecycle")
        parse_tap(life, os.path.join(args.results, "lifecycle.tap"))
        suites.append(life)
        if not args.demo:
            suites += [judge_kunit(args.results, kdir), judge_kselftests(args.results)]
    suites.append(judge_kernel(args.results))
    if finished and not args.demo:
        suites += [judge_canary(args.results), self_test(kdir)]
    if args.lint:
        lint = Suite("lint")
        parse_tap(lint, args.lint)
        suites.append(lint)

    for s in suites:
        print("%-10s %d passed, %d failed, %d skipped" % (s.name + ":", s.passed, s.failed, s.skipped))
        for fl in s.failures:
            print("  FAIL " + fl)
    p = sum(s.passed for s in suites)
    f = sum(s.failed for s in suites)
    k = sum(s.skipped for s in suites)
    print("%d passed, %d failed, %d skipped" % (p, f, k))
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
