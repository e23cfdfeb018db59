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
periods) that guest.sh plants after the run, and the misuse suites of
guest entry, the mediated PMU and op groups (guestgate_misuse_kunit.ko,
loaded then) to pass with one WARN per misuse rule and no other splat; "judge"
runs this judge on canned results that it must fail.

Prints one line per suite, the failures, the table of where the time went
(the host's phases, then the VM's, each with its limit), and last the plain
summary line "N passed, N failed, N skipped". Exits 1 on any failure. When
the VM did not finish, the failure names the phase it was in and why it
ended (its watchdog, vm.sh's limits, or a crash).
"""

import argparse
import io
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

KUNIT_DIR = os.path.join(TOP, "tools", "testing", "kunit")
# The KUnit module of the canary phase: its suites fire guestgate's WARNs.
CANARY_KUNIT_MODULE = "guestgate_misuse_kunit"
# The guest entry helpers and their misuse rules.
ENTRY_SHIM = os.path.join(TOP, "rust", "guest_entry_shim.c")
ENTRY_H = os.path.join(TOP, "include", "linux", "guestgate", "entry.h")
# guest.sh's marker in the kernel log before each step of the canary phase.
MARK = "guestgate-vm: "
MISUSE_MARK = MARK + "canary: misuse"
# guestgate_entry_warn()'s message, the line before its WARNING.
MISUSE_WARN_RE = re.compile(r"\bguestgate: \w+: (.*?)\s*$")
# The C APIs whose misuses WARN_ONCE() with a message each: the mediated
# PMU's and op groups'. Their rules are keyed "<kind>: <message>".
PMU_SHIM = os.path.join(TOP, "rust", "mediated_pmu_shim.c")
PMU_KIND = "mediated_pmu: "
OPG_SHIM = os.path.join(TOP, "rust", "op_group_shim.c")
OPG_KIND = "op_group: "
WARN_ONCE_SHIMS = ((PMU_KIND, PMU_SHIM, "mediated PMU"), (OPG_KIND, OPG_SHIM, "op group"))
WARN_ONCE_RE = re.compile(r"^(?:\[[^]]*\] )?guestgate: (.*?)\s*$")


class Suite:
    """Counts of one suite and the reasons of its failures."""

    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        # What was skipped and why, when the why is known.
        self.skips = []

    def add(self, status, what, detail=""):
        if status == "PASS":
            self.passed += 1
        elif status == "SKIP":
            self.skipped += 1
            if detail:
                self.skips.append(what + ": " + detail)
        else:
            self.failed += 1
            self.failures.append(what + (": " + detail if detail else ""))


class TapParser:
    """The kernel's KTAP parser, tools/testing/kunit/kunit_parser.py of KDIR.

    What it prints (its summary, its errors) is kept, not shown: the errors
    become failures.
    """

    def __init__(self, kdir):
        sys.path.insert(0, os.path.join(kdir, "tools", "testing", "kunit"))
        import kunit_parser
        import kunit_printer
        self.parser = kunit_parser
        self.log = io.StringIO()
        kunit_printer.stdout._output = self.log

    def judge(self, suite, path, prefix=""):
        """Each result of the (K)TAP file at PATH into SUITE, named PREFIX
        and the names of the tests it is nested in, joined by dots.

        A failed or crashed test fails, and so does what the parser calls
        an error (a result missing from a plan, a wrong number, no TAP at
        all), a file without a plan, or one without results.
        """
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        self.log.seek(0)
        self.log.truncate()
        top = self.parser.parse_run_tests(lines)
        status = self.parser.TestStatus

        def walk(test, name):
            if test.subtests:
                for t in test.subtests:
                    walk(t, name + "." + t.name if name else prefix + t.name)
            elif name and test.name:
                verdict = {status.SUCCESS: "PASS", status.SKIPPED: "SKIP"}.get(
                    test.status, "FAIL")
                suite.add(verdict, name,
                          "" if verdict != "FAIL" else diagnostics(test.log) or test.status.name)

        walk(top, "")
        errors = [l.split("[ERROR]", 1)[1].strip()
                  for l in self.log.getvalue().splitlines() if "[ERROR]" in l]
        if errors:
            suite.add("FAIL", prefix + "TAP", "%s: %s" % (path, "; ".join(errors)))
        elif top.expected_count is None:
            suite.add("FAIL", prefix + "TAP", "no '1..N' line in " + path)


# Set by main(): the kernel's parser of every TAP file of a run.
tap_parser = None


def suite_names(paths):
    """The KUnit suites defined in the C files PATHS."""
    names = []
    for path in paths:
        with open(path) as f:
            text = f.read()
        # The .name of each struct kunit_suite's initializer, not of other
        # structs' (an op group's implementations have names too).
        for m in re.finditer(r"struct\s+kunit_suite\s+\w+\s*=\s*\{(.*?)\n\};", text, re.S):
            names += re.findall(r'\.name\s*=\s*"([^"]+)"', m.group(1))
    return names


def kbuild_sources(module):
    """The C files that Kbuild links into MODULE.ko."""
    with open(os.path.join(TOP, "Kbuild")) as f:
        text = f.read().replace("\\\n", " ")
    objs = []
    for m in re.finditer(r"^%s-[\w$()]+\s*[:+]?=(.*)$" % re.escape(module), text, re.M):
        objs += m.group(1).split()
    return [os.path.join(TOP, o[:-2] + ".c") for o in objs if o.endswith(".o")]


def canary_kunit_suites():
    """The suites run in the canary phase (their WARNs are planted)."""
    return suite_names(kbuild_sources(CANARY_KUNIT_MODULE))


def expected_kunit_suites():
    """The suites of the main KUnit phase: all but the canary phase's."""
    canary = set(canary_kunit_suites())
    paths = [os.path.join(KUNIT_DIR, fn) for fn in sorted(os.listdir(KUNIT_DIR))
             if fn.endswith(".c")]
    return [n for n in suite_names(paths) if n not in canary]


def c_strings(text):
    """The value of the adjacent C string literals in TEXT."""
    return "".join(re.sub(r"\\(.)", r"\1", s)
                   for s in re.findall(r'"((?:[^"\\]|\\.)*)"', text))


def misuse_rules(shim=ENTRY_SHIM, header=ENTRY_H):
    """The rule text of each misuse kind, from guestgate_misuse_rule[].

    Every kind of enum guestgate_entry_misuse must have one: a kind without
    maps to None.
    """
    with open(header) as f:
        m = re.search(r"enum guestgate_entry_misuse \{(.*?)\};", f.read(), re.S)
    kinds = re.findall(r"^\s*GUESTGATE_MISUSE_(\w+)\s*,", m.group(1), re.M) if m else []
    with open(shim) as f:
        m = re.search(r"guestgate_misuse_rule\[[^]]*\]\s*=\s*\{(.*?)\n\};", f.read(), re.S)
    rules = dict.fromkeys(kinds)
    if m:
        for e in re.finditer(r'\[GUESTGATE_MISUSE_(\w+)\]\s*=\s*((?:"(?:[^"\\]|\\.)*"\s*)+)',
                             m.group(1)):
            rules[e.group(1)] = c_strings(e.group(2))
    return rules


def warn_once_rules(shim=PMU_SHIM, kind=PMU_KIND):
    """The message of each WARN_ONCE() in SHIM, without 'guestgate: ', keyed KIND + message."""
    with open(shim) as f:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read(), flags=re.S)
    rules = {}
    for m in re.finditer(r'\bWARN_ONCE\([^";]*?((?:"(?:[^"\\]|\\.)*"\s*)+)', text):
        msg = c_strings(m.group(1).replace("\\n", ""))
        if msg.startswith("guestgate: "):
            msg = msg[len("guestgate: "):]
            rules[kind + msg] = msg
    # A WARN_ONCE() whose message this cannot read, or one message twice:
    # no rule at all, so that the judge fails rather than miss one.
    if len(rules) != len(re.findall(r"\bWARN_ONCE\(", text)):
        return {}
    return rules


def is_warn_once(kind):
    """Whether misuse KIND is a WARN_ONCE() of one of WARN_ONCE_SHIMS."""
    return any(kind.startswith(k) for k, _, _ in WARN_ONCE_SHIMS)


def misuse_kind(rules, line):
    """The misuse kind of RULES whose message LINE is, the line before a WARNING, or None."""
    for kind, rule in rules.items():
        m = (WARN_ONCE_RE if is_warn_once(kind) else MISUSE_WARN_RE).search(line)
        if rule and m and m.group(1) == rule:
            return kind
    return None


def misuse_line(kind, rule):
    """A log line of the WARN message of KIND, as the kernel prints it."""
    if is_warn_once(kind):
        return "guestgate: " + rule
    return "guestgate: guestgate_state_exit_irqoff: " + rule


def expected_kselftests(makefile=None):
    """The kselftests the Makefile's TEST_GEN_PROGS names (continued lines joined)."""
    if makefile is None:
        makefile = os.path.join(TOP, "tools", "testing", "selftests", "guestgate", "Makefile")
    with open(makefile) as f:
        text = re.sub(r"\\\n", " ", f.read())
    m = re.search(r"^TEST_GEN_PROGS\s*:?=\s*(.*)$", text, re.M)
    return m.group(1).split() if m else []


def diagnostics(log, limit=6):
    """What a failed test logged before its result: the failed
    expectations (KUnit's, each with the message the case gave it, the line
    after its values), or else the last LIMIT diagnostic lines."""
    found = []
    for i, line in enumerate(log):
        if not re.search(r"Expected|expected|ASSERT", line):
            continue
        text = line.strip().lstrip("# ")
        j = i + 1
        while j < len(log) and log[j].startswith("        "):
            j += 1
        if j < len(log) and log[j].strip() and log[j].lstrip()[:1] != "#":
            text += " [" + log[j].strip() + "]"
        if text not in found:
            found.append(text)
    if not found:
        found = [l.strip("# ").strip() for l in log if l.lstrip().startswith("#")][-limit:]
        return " | ".join(f for f in found if f)
    return " | ".join(found[:limit]) + (" | ..." if len(found) > limit else "")


def judge_ktap(suite, name, path):
    """Each case of KUnit suite NAME, from its KTAP at PATH, into SUITE."""
    if not os.path.exists(path):
        suite.add("FAIL", name, "suite never reported")
        return
    tap_parser.judge(suite, path)


def judge_kunit(results):
    suite = Suite("kunit")
    for name in expected_kunit_suites():
        judge_ktap(suite, name, os.path.join(results, "kunit", name + ".ktap"))
    return suite


def kselftest_timeout():
    """The timeout of each kselftest program, from its settings file."""
    path = os.path.join(TOP, "tools", "testing", "selftests", "guestgate", "settings")
    with open(path) as f:
        m = re.search(r"^timeout=(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else 45


def judge_kselftests(results):
    suite = Suite("kselftest")
    for name in expected_kselftests():
        tap = os.path.join(results, "kselftest", name + ".tap")
        if not os.path.exists(tap):
            suite.add("FAIL", name, "never ran")
            continue
        before = suite.failed
        rc = open(os.path.join(results, "kselftest", name + ".rc")).read().strip()
        if rc in ("124", "137"):
            # timeout(1) ended it: the TAP stops where it hung.
            suite.add("FAIL", name, "timed out: still running after the %d s of settings"
                      % kselftest_timeout())
        tap_parser.judge(suite, tap, name + ".")
        if rc not in ("0", "4") and suite.failed == before:
            suite.add("FAIL", name, "exit status " + rc)
    return suite


KVM_LIST = os.path.join(TOP, "tools", "testing", "guestgate", "kvm-selftests.list")
# The two kvms the KVM selftests run against, in guest.sh's kvm/ directory.
KVMS = ("stock", "guestgate")


def kvm_selftests(path=KVM_LIST):
    """The KVM selftests guest.sh runs, from the list; "storm/TEST" for the
    second run, under kvm_storm.so, of those marked "storm"."""
    tests, storms = [], []
    with open(path) as f:
        for l in f:
            w = l.split("#")[0].split()
            if w:
                tests.append(w[0])
                if "storm" in w[1:]:
                    storms.append("storm/" + w[0])
    return tests + storms


def storm_changes(results, kvm, test):
    """The protection changes kvm_storm.so reports for TEST ("storm/..."), or
    None if it did not report."""
    base = os.path.join(results, "kvm", kvm, test.replace("/", "_"))
    for w in read_words(base + ".out"):
        if w[:2] == ["#", "kvm_storm:"] and len(w) > 2 and w[2].isdigit():
            return int(w[2])
    return None


def kvm_run_result(base):
    """(status, seconds, why) of the run whose files are BASE.rc and .out, or
    None if it never ran."""
    words = read_words(base + ".rc")
    if not words or len(words[0]) != 2:
        return None
    rc, secs = int(words[0][0]), int(words[0][1])
    lines = []
    if os.path.exists(base + ".out"):
        with open(base + ".out", errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
    status = {0: "pass", 4: "skip", 124: "timeout", 137: "timeout"}.get(rc, "fail")
    why = ""
    if status == "skip":
        why = next((l for l in reversed(lines) if "SKIP" in l or "not met" in l),
                   lines[-1] if lines else "")
        why = re.sub(r"^(1\.\.\d+\s*)?#?\s*SKIP\s*-?\s*", "", why)
    elif status != "pass":
        # The selftests' own assertion (file:line: expression) says which
        # check failed; the last lines, what the test printed after it.
        asserted = [l for l in lines if re.match(r"^\S+\.c:\d+: ", l)][:1]
        why = "exit status %d: %s" % (rc, " | ".join(
            [l for l in asserted if l not in lines[-3:]] + lines[-3:]))
    return status, secs, why


def kvm_result(results, kvm, test):
    """(status, seconds, why, failed_attempts) of TEST's last run on KVM, or
    None if it never ran; failed_attempts: the (status, seconds, why) of the
    runs that failed before it (a test the list gives attempts=N)."""
    base = os.path.join(results, "kvm", kvm, test.replace("/", "_"))
    last = kvm_run_result(base)
    if last is None:
        return None
    failed = []
    while True:
        r = kvm_run_result("%s.attempt%d" % (base, len(failed) + 1))
        if r is None:
            return last + (failed,)
        failed.append(r)


def read_counters(path):
    """The "name: value" counters of a debugfs dump."""
    counters = {}
    for w in read_words(path):
        if len(w) == 2 and w[0].endswith(":") and w[1].isdigit():
            counters[w[0][:-1]] = int(w[1])
    return counters


def judge_kvm(results, tests=None):
    """The kernel's KVM selftests: what passes on stock kvm passes on kvm on
    guestgate, and guestgate's counters say that it did the work. TESTS: the
    list's, unless given."""
    suite = Suite("kvm")
    tests = tests if tests is not None else kvm_selftests()
    for test in tests:
        stock, gg = (kvm_result(results, k, test) for k in KVMS)
        what = "kvm selftest " + test
        if stock is None or gg is None:
            suite.add("FAIL", what, "never ran on " + ("stock kvm" if stock is None else
                                                       "kvm on guestgate"))
        elif stock[0] == "skip":
            if gg[0] == "skip":
                suite.add("SKIP", what, stock[2])
            else:
                suite.add("FAIL", what, "skipped on stock kvm (%s) but %s on guestgate"
                          % (stock[2], gg[0]))
        elif stock[0] != "pass":
            suite.add("FAIL", what, "fails on stock kvm already (the list is wrong): "
                      + stock[2])
        else:
            suite.add("PASS" if gg[0] == "pass" else "FAIL", what,
                      "passes on stock kvm, %s on guestgate: %s" % (gg[0], gg[2]))
        if test.startswith("storm/") and stock is not None and gg is not None:
            n = [storm_changes(results, k, test) for k in KVMS]
            suite.add("PASS" if all(n) else "FAIL",
                      "the invalidation storm ran beside " + test[6:],
                      "protection changes: stock %s, guestgate %s" % tuple(n))
    d = os.path.join(results, "kvm", "guestgate")
    # kvm_guest_samples: perf's samples of a real guest, none without kvm.
    for name in ("samples_before", "samples", "samples_after"):
        tap = os.path.join(d, name + ".tap")
        if os.path.exists(tap):
            tap_parser.judge(suite, tap, "kvm_guest_samples (%s)." % name)
        else:
            suite.add("FAIL", "kvm_guest_samples (%s)" % name, "never ran")
    before, run, after = (read_counters(os.path.join(d, "counters." + n))
                          for n in ("before", "run", "after"))
    if not (before and run and after):
        suite.add("FAIL", "guestgate's counters around the KVM selftests", "missing in " + d)
        return suite

    def delta(a, b, key):
        return b.get(key, 0) - a.get(key, 0)

    for key in ("timing_enters", "guest_enters"):
        n = delta(before, run, key)
        suite.add("PASS" if n > 0 else "FAIL",
                  "kvm's guest entries went through guestgate (%s +%d)" % (key, n))
    for enter, exit_ in (("timing_enters", "timing_exits"), ("guest_enters", "guest_exits")):
        suite.add("PASS" if run.get(enter) == run.get(exit_) else "FAIL",
                  "every %s had its exit" % enter,
                  "%s %s, %s %s" % (enter, run.get(enter), exit_, run.get(exit_)))
    misuse = dict((k, delta(before, after, k)) for k in after if k.startswith("misuse_"))
    suite.add("PASS" if misuse and not any(misuse.values()) else "FAIL",
              "kvm broke no guest entry rule",
              ", ".join("%s +%d" % kv for kv in misuse.items() if kv[1]) or "no counters")
    n = delta(before, run, "registrations")
    suite.add("PASS" if n == 1 else "FAIL",
              "kvm registered its perf callbacks with guestgate once", "registrations +%d" % n)
    n = delta(run, after, "unregistrations")
    suite.add("PASS" if n == 1 else "FAIL",
              "kvm unregistered them when it unloaded", "unregistrations +%d" % n)
    # The pfn caches: kvm's gfn_to_pfn_caches are guestgate's. Hits are
    # counted as the caches are destroyed, so over the whole run.
    moved = dict((k, delta(before, after, "gpc_" + k))
                 for k in ("activations", "refreshes", "hits", "misses",
                           "invalidations", "retries", "refresh_errors"))
    figures = ", ".join("%s +%d" % kv for kv in moved.items())
    for k in ("activations", "refreshes", "hits"):
        suite.add("PASS" if moved[k] > 0 else "FAIL",
                  "kvm's pfn caches went through guestgate (%s)" % k, figures)
    n = delta(before, after, "gpc_caches")
    suite.add("PASS" if "gpc_caches" in after and n == 0 else "FAIL",
              "kvm destroyed every pfn cache it made",
              "caches %+d after kvm unloaded" % n)
    # The storm's invalidations reached the caches; the retries they caused
    # are reported (a livelock would be a test's timeout above).
    storm = read_counters(os.path.join(d, "counters.storm_before"))
    if any(t.startswith("storm/") for t in tests):
        moved = dict((k, delta(storm, run, "gpc_" + k))
                     for k in ("invalidations", "refreshes", "retries"))
        suite.add("PASS" if storm and moved["invalidations"] > 0 else "FAIL",
                  "the storm invalidated kvm's pfn caches",
                  "%s; most retries of one refresh so far: %d" % (
                      ", ".join("%s +%d" % kv for kv in moved.items()),
                      run.get("gpc_retries_max", 0)))
    return suite


def print_kvm_table(results):
    """The KVM selftests side by side: test, stock, guestgate, seconds (of
    the last attempt, and which one it was when one failed before it);
    then why each failed attempt failed."""
    rows, retried = [], []
    for test in kvm_selftests():
        r = [kvm_result(results, k, test) for k in KVMS]
        if all(x is None for x in r):
            continue
        cells = []
        for kvm, x in zip(KVMS, r):
            if x is None:
                cells.append("-")
                continue
            cells.append("%s %ds" % x[:2] + (" (try %d)" % (len(x[3]) + 1) if x[3] else ""))
            retried += ["%s on %s, try %d: %s" % (test, kvm, i + 1, a[2])
                        for i, a in enumerate(x[3])]
        rows.append((test,) + tuple(cells))
    if not rows:
        return
    print("%-40s %18s %18s" % ("kvm selftest", "stock", "guestgate"))
    for row in rows:
        print("%-40s %18s %18s" % row)
    for line in retried:
        print("  retried " + line)


def read_words(path):
    """The lines of PATH split into words, or [] if it does not exist."""
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [l.split() for l in f if l.strip()]


def vm_outcome(results):
    """Why the VM did not finish, from the files guest.sh and vm.sh wrote."""
    hung = read_words(os.path.join(results, "hung"))
    if hung and len(hung[0]) >= 2:
        return ("phase %s ran past its limit of %s s: the guest's watchdog ended the VM "
                "(the blocked tasks and the CPUs' backtraces are in dmesg.txt)"
                % (hung[0][0], hung[0][1]))
    for w in read_words(os.path.join(results, "vm.txt")):
        if w[0] == "killed":
            return "vm.sh ended the VM: " + " ".join(w[1:])
    cur = read_words(os.path.join(results, "phase"))
    if cur:
        return "the VM stopped during phase %s (a crash? see console.log)" % cur[0][0]
    if not os.path.exists(os.path.join(results, "phases")):
        return "the VM stopped before guest.sh began (see console.log)"
    return "the VM stopped between phases (see console.log)"


def time_table(results):
    """Where the time went: rows of (phase, seconds, limit), host then VM."""
    rows = [(w[0], w[1], "") for w in read_words(os.path.join(results, "host.txt"))
            if len(w) == 2]
    vm = dict((w[0], w[1]) for w in read_words(os.path.join(results, "vm.txt")) if len(w) == 2)
    for w in read_words(os.path.join(results, "phases")):
        if len(w) != 4:
            continue
        name, limit, start, end = w
        if name == "boot":
            limit = vm.get("boot_limit", limit)
        rows.append(("  " + name, "%.0f" % (float(end) - float(start)),
                     "" if limit == "-" else limit))
    cur = read_words(os.path.join(results, "phase"))
    if cur and len(cur[0]) == 3:
        rows.append(("  " + cur[0][0], "did not end", cur[0][1]))
    return rows


def print_time_table(results):
    rows = time_table(results)
    if not rows:
        return
    print("%-40s %11s %6s" % ("where the time went", "seconds", "limit"))
    for name, secs, limit in rows:
        print("%-40s %11s %6s" % (name, secs, limit))


def splats(path):
    """The lines of a kernel log that fail a run."""
    with open(path, errors="replace") as f:
        return [l.rstrip() for l in f if SPLAT_RE.search(l)]


CANARY_MARK = "gg-canary-leak"
# The planted use after free of tools/testing/guestgate_test/perf_callbacks_stress.c.
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


def misuse_section(lines):
    """The lines the kernel logged while the misuse suite ran, or None."""
    for i, line in enumerate(lines):
        if MISUSE_MARK in line:
            end = next((j for j in range(i + 1, len(lines)) if MARK in lines[j]), len(lines))
            return lines[i + 1:end]
    return None


def judge_misuse(suite, canary_dir):
    """The misuse suite passed, each rule warned once, nothing else splatted."""
    names = canary_kunit_suites()
    if not names:
        suite.add("FAIL", "a KUnit suite for the canary phase",
                  "no suite in the sources of %s in Kbuild" % CANARY_KUNIT_MODULE)
    for name in names:
        judge_ktap(suite, name, os.path.join(canary_dir, name + ".ktap"))

    rules = misuse_rules()
    if not rules:
        suite.add("FAIL", "misuse rules found", "none in " + ENTRY_SHIM)
    for kind, shim, what in WARN_ONCE_SHIMS:
        once = warn_once_rules(shim, kind)
        if not once:
            suite.add("FAIL", "%s misuse WARNs found" % what, "none in " + shim)
        rules.update(once)
    with open(os.path.join(canary_dir, "dmesg.txt"), errors="replace") as f:
        section = misuse_section([l.rstrip() for l in f])
    if section is None:
        suite.add("FAIL", "the misuse suite ran", "no '%s' in the log" % MISUSE_MARK)
        section = []
    warned = dict.fromkeys(rules, 0)
    others = []
    for i, line in enumerate(section):
        if not SPLAT_RE.search(line):
            continue
        kind = misuse_kind(rules, section[i - 1]) if i and "WARNING:" in line else None
        if kind:
            warned[kind] += 1
        else:
            others.append(line)
    for kind, rule in rules.items():
        if rule is None:
            suite.add("FAIL", "misuse %s has a rule" % kind,
                      "no guestgate_misuse_rule[GUESTGATE_MISUSE_%s] in %s" % (kind, ENTRY_SHIM))
            continue
        suite.add("PASS" if warned[kind] == 1 else "FAIL",
                  "the dmesg check flags the WARN of misuse %s" % kind,
                  "%d 'WARNING:' lines after '... %s'" % (warned[kind], rule))
    suite.add("FAIL" if others else "PASS", "no other splat while the misuse suite ran",
              " | ".join(others[:8]))


def judge_canary(results):
    """The detectors caught the planted WARNs, leak and use after free."""
    suite = Suite("canary")
    d = os.path.join(results, "canary")
    if not os.path.isdir(d):
        suite.add("FAIL", "canary ran", "no " + d)
        return suite
    hits = splats(os.path.join(d, "dmesg.txt"))
    suite.add("PASS" if any("guestgate_canary" in h for h in hits) else "FAIL",
              "the dmesg check flags the canary's WARN")
    suite.add("PASS" if any(UAF_RE.search(h) for h in hits) else "FAIL",
              "KASAN reports the use after an unregister that does not wait",
              "no 'BUG: KASAN: ...use-after-free in uaf_*' line in " + os.path.join(d, "dmesg.txt"))
    leak_file = os.path.join(results, "kmemleak.txt")
    planted = os.path.exists(leak_file) and any(
        CANARY_MARK in r for r in kmemleak_reports(leak_file))
    suite.add("PASS" if planted else "FAIL", "kmemleak reports the canary's leak")
    judge_perf_rival(suite, d, hits)
    judge_misuse(suite, d)
    return suite


# guestgate's refusal when perf does not call its bridge.
RIVAL_REFUSAL = "guestgate: perf does not call guestgate's callbacks"


def judge_perf_rival(suite, canary_dir, hits):
    """guestgate saw another holder of perf's slot and refused to load."""
    path = os.path.join(canary_dir, "perf_rival.txt")
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    suite.add("PASS" if "rc: 0" in text.splitlines() else "FAIL",
              "guestgate refuses to load beside another holder of perf's slot, "
              "no door opened", text.strip().replace("\n", " | ") or "no " + path)
    suite.add("PASS" if any("perf_register_guest_info_callbacks" in h for h in hits) else "FAIL",
              "perf WARNs at guestgate's registration over another holder")
    with open(os.path.join(canary_dir, "dmesg.txt"), errors="replace") as f:
        said = RIVAL_REFUSAL in f.read()
    suite.add("PASS" if said else "FAIL", "guestgate says why it refused",
              "" if said else "no '%s' in the log" % RIVAL_REFUSAL)


def self_test():
    """The judge fails what it must fail, on canned results."""
    suite = Suite("judge")

    def expect(what, s, failed, why=None):
        """S failed or passed as it must; a failure for the reason WHY."""
        ok = (s.failed > 0) == failed
        if ok and failed and why:
            ok = any(why in fl for fl in s.failures)
        suite.add("PASS" if ok else "FAIL", what, "failures: %s" % s.failures)

    with tempfile.TemporaryDirectory() as t:
        def write(name, text):
            path = os.path.join(t, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            return path

        h = "TAP version 13\n"
        ktap = ("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n"
                "    ok 1 a\n    %s\n%s\n")
        for what, text, failed, why in (
                ("passing TAP passes", h + "1..2\nok 1 a\nok 2 b\n", False, None),
                ("a skipped test passes", h + "1..1\nok 1 a # SKIP no kvm\n", False, None),
                ("a TAP plan with a missing result fails",
                 h + "1..3\nok 1 a\nok 2 b\n", True, "missing expected subtest"),
                ("'not ok' fails, with its diagnostics",
                 h + "1..1\n# t.c:3:a:Expected 1 (1) == 2 (2)\nnot ok 1 a\n", True,
                 "Expected 1 (1) == 2 (2)"),
                ("TAP without a plan fails", h + "ok 1 a\n", True, "no '1..N'"),
                ("a file without TAP fails", "1..1\nok 1 a\n", True, "Could not find"),
                ("a passing KTAP suite passes", ktap % ("ok 2 b", "ok 1 s"), False, None),
                ("a failed KTAP case fails", ktap % ("not ok 2 b", "not ok 1 s"), True, "s.b"),
                ("a KTAP suite cut short fails", (ktap % ("", ""))[:-1], True, None)):
            s = Suite("t")
            tap_parser.judge(s, write("t.tap", text))
            expect(what, s, failed, why)

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

        # A canary phase as guest.sh runs it: the canary's WARN, the misuse
        # suite with one WARN per rule, the use after free.
        rules = [(k, r) for k, r in misuse_rules().items() if r]
        for kind, shim, _ in WARN_ONCE_SHIMS:
            rules += list(warn_once_rules(shim, kind).items())
        misuse_warns = ["[ 2.%d] ------------[ cut here ]------------\n"
                        "[ 2.%d] %s\n"
                        "[ 2.%d] WARNING: CPU: 1 PID: 9 at rust/guest_entry_shim.c:86 "
                        "guestgate_entry_warn+0x1/0x2 [guestgate]\n"
                        "[ 2.%d] Call Trace:\n" % (i, i, misuse_line(k, r), i, i)
                        for i, (k, r) in enumerate(rules)]
        canary_warn = ("[ 1.0] guestgate-vm: canary\n"
                       "[ 1.1] WARNING: CPU: 0 PID: 1 at c.c:1 init_module+0x1/0x2 "
                       "[guestgate_canary]\n"
                       "[ 1.2] guestgate-vm: canary: perf rival\n"
                       "[ 1.3] WARNING: CPU: 0 PID: 9 at kernel/events/core.c:7054 "
                       "perf_register_guest_info_callbacks+0x1/0x2\n"
                       "[ 1.4] %s: another module holds perf's slot\n" % RIVAL_REFUSAL)
        uaf = ("[ 3.0] guestgate-vm: canary: uaf_no_rcu_wait\n"
               "[ 3.1] BUG: KASAN: slab-use-after-free in uaf_get_ip+0x96/0xc0 "
               "[guestgate_test]\n")

        def canary_log(warns, extra=""):
            return canary_warn + "[ 2.0] " + MISUSE_MARK + "\n" + "".join(warns) + extra + uaf

        names = canary_kunit_suites()

        def misuse_ktap(results):
            return ("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: %s\n    1..2\n"
                    "    ok 1 guestgate_misuse_a\n    %s 2 guestgate_misuse_b\n%s 1 %s\n"
                    % (names[0] if names else "none", results, results, names[0] if names else "none"))

        for name in names:
            write("c/canary/%s.ktap" % name, misuse_ktap("ok"))
        write("c/canary/dmesg.txt", canary_log(misuse_warns))
        write("c/kmemleak.txt", canary)
        write("c/canary/perf_rival.txt", "load refused: Device or resource busy\nrc: 0\n")
        expect("a canary run whose detectors caught everything passes",
               judge_canary(os.path.join(t, "c")), False)
        write("c/canary/perf_rival.txt", "/dev/guestgate appeared during the load\nrc: 1\n")
        expect("a load beside a perf rival that opened a door fails",
               judge_canary(os.path.join(t, "c")), True, "no door opened")
        write("c/canary/perf_rival.txt", "load refused: Device or resource busy\nrc: 0\n")
        write("c/canary/dmesg.txt", canary_log(misuse_warns).replace(RIVAL_REFUSAL, "x"))
        expect("a refusal beside a perf rival that says nothing fails",
               judge_canary(os.path.join(t, "c")), True, "says why")
        write("c/canary/dmesg.txt", canary_log(misuse_warns).replace(uaf, ""))
        expect("a canary run without KASAN's use-after-free report fails",
               judge_canary(os.path.join(t, "c")), True, "KASAN")
        write("c/canary/dmesg.txt", canary_log(misuse_warns[1:]))
        expect("a canary run missing one misuse warning fails",
               judge_canary(os.path.join(t, "c")), True, "misuse " + rules[0][0])
        write("c/canary/dmesg.txt", canary_log(misuse_warns + misuse_warns[-1:]))
        expect("a misuse warning that fired twice fails",
               judge_canary(os.path.join(t, "c")), True, "misuse " + rules[-1][0])
        for kind, _, what in WARN_ONCE_SHIMS:
            i = next((i for i, (k, _) in enumerate(rules) if k.startswith(kind)), 0)
            write("c/canary/dmesg.txt", canary_log(misuse_warns[:i] + misuse_warns[i + 1:]))
            expect("a canary run missing one %s misuse warning fails" % what,
                   judge_canary(os.path.join(t, "c")), True, "misuse " + kind)
        write("c/canary/dmesg.txt", canary_log(
            [misuse_warns[0].replace(rules[0][1], "some other rule")] + misuse_warns[1:]))
        expect("a misuse warning without its rule's message fails",
               judge_canary(os.path.join(t, "c")), True, "misuse " + rules[0][0])
        write("c/canary/dmesg.txt", canary_log(
            misuse_warns, "[ 2.9] WARNING: suspicious RCU usage\n"))
        expect("another splat while the misuse suite ran fails",
               judge_canary(os.path.join(t, "c")), True, "no other splat")
        write("c/canary/dmesg.txt", canary_log(misuse_warns))
        for name in names:
            write("c/canary/%s.ktap" % name, misuse_ktap("not ok"))
        expect("a failed misuse case fails",
               judge_canary(os.path.join(t, "c")), True, "guestgate_misuse_b")
        for name in names:
            os.remove(os.path.join(t, "c", "canary", name + ".ktap"))
        expect("a misuse suite that never reported fails",
               judge_canary(os.path.join(t, "c")), True, "never reported")
        split = Suite("t")
        split.add("PASS" if names and not set(names) & set(expected_kunit_suites()) else "FAIL",
                  "split", "canary phase %s, main phase %s" % (names, expected_kunit_suites()))
        expect("the canary phase's KUnit suites are not required in the main phase",
               split, False)
        write("s.c", 'static const struct impl impls[] = {\n\t{ .name = "a" },\n};\n'
              'struct kunit_suite s = {\n\t.name = "gg_s",\n\t.test_cases = c,\n};\n')
        found = Suite("t")
        found.add("PASS" if suite_names([os.path.join(t, "s.c")]) == ["gg_s"] else "FAIL",
                  "suites", str(suite_names([os.path.join(t, "s.c")])))
        expect("only a struct kunit_suite's .name names a suite", found, False)

        os.makedirs(os.path.join(t, "e", "kunit"))
        os.makedirs(os.path.join(t, "e", "kselftest"))
        expect("a KUnit suite that never reported fails", judge_kunit(os.path.join(t, "e")), True)
        expect("a kselftest that never ran fails", judge_kselftests(os.path.join(t, "e")), True)

        name = expected_kselftests()[0]
        write("k/kselftest/%s.tap" % name, "TAP version 13\n1..2\nok 1 a\n")
        write("k/kselftest/%s.rc" % name, "124\n")
        expect("a kselftest that timeout(1) ended fails as timed out",
               judge_kselftests(os.path.join(t, "k")), True, "timed out")

        # Why a VM did not finish, and the phase it names.
        def outcome(what, files, why):
            d = tempfile.mkdtemp(dir=t)
            for fn, text in files.items():
                write(os.path.join(d, fn), text)
            o = Suite("t")
            o.add("FAIL", "vm", vm_outcome(d))
            expect(what, o, True, why)
            return d

        outcome("a hang the guest's watchdog caught names its phase",
                {"phases": "boot - 0 40.1\n", "phase": "kunit 900 41.0\n",
                 "hung": "kunit 900\n"}, "phase kunit ran past its limit of 900 s")
        outcome("a hang vm.sh caught says so",
                {"phases": "boot - 0 40.1\n", "phase": "kunit 900 41.0\n",
                 "vm.txt": "boot_limit 600\nkilled phase kunit outlived its limit\n"},
                "vm.sh ended the VM: phase kunit")
        outcome("a boot that never reached guest.sh says so",
                {"vm.txt": "boot_limit 600\nkilled the boot did not reach guest.sh\n"},
                "the boot did not reach")
        d = outcome("a crash names the phase it was in",
                    {"phases": "boot - 0 40.1\nsetup 600 40.2 52.3\n",
                     "phase": "load 300 52.4\n", "vm.txt": "boot_limit 600\n",
                     "host.txt": "build 12\nlint 90\n"},
                    "during phase load")
        rows = time_table(d)
        tab = Suite("t")
        tab.add("PASS" if rows == [("build", "12", ""), ("lint", "90", ""),
                                   ("  boot", "40", "600"), ("  setup", "12", "600"),
                                   ("  load", "did not end", "300")] else "FAIL",
                "table", "rows %s" % rows)
        expect("the time table has the host's phases, the boot and every VM phase",
               tab, False)

        write("m/Makefile", "TEST_GEN_PROGS := a_test b_test \\\n\t\t  c_test\nX := d\n")
        names = expected_kselftests(os.path.join(t, "m", "Makefile"))
        cont = Suite("t")
        cont.add("PASS" if names == ["a_test", "b_test", "c_test"] else "FAIL", "cont",
                 "TEST_GEN_PROGS read as %s" % names)
        expect("a continued TEST_GEN_PROGS line gives every kselftest", cont, False)

        # The KVM selftests on both kvms, and guestgate's counters.
        def kvm_run(name, results=None, counters=None, samples=True, storm="# kvm_storm: 9 x\n"):
            d = os.path.join(t, "kvm-" + name)
            results = results or {"a": ("0 5", "0 6"), "s": ("4 3", "4 3")}
            for test, rcs in results.items():
                for kvm, rc in zip(KVMS, rcs):
                    if not rc:
                        continue
                    f = "%s/kvm/%s/%s" % (d, kvm, ("x86_64/" + test).replace("/", "_"))
                    if test.startswith("storm/"):
                        f = "%s/kvm/%s/storm_x86_64_%s" % (d, kvm, test[6:])
                    # "254 5,0 6": a failed attempt, then the last.
                    *failed, rc = rc.split(",")
                    for i, a in enumerate(failed):
                        write("%s.attempt%d.rc" % (f, i + 1), a + "\n")
                        write("%s.attempt%d.out" % (f, i + 1),
                              "  x86_64/a.c:976: evtchn_irq_expected\nfailed\n")
                    write(f + ".rc", rc + "\n")
                    write(f + ".out", "1..0 # SKIP - Requirement not met: vmx\n"
                          if rc[0] == "4" else "ok\n" + (storm if "storm" in test else ""))
            gpc0 = "gpc_caches: 1\ngpc_activations: 4\ngpc_refreshes: 4\ngpc_hits: 10\n"
            gpc1 = "gpc_caches: 1\ngpc_activations: 9\ngpc_refreshes: 9\ngpc_hits: 30\n"
            gpcs = "gpc_caches: 1\ngpc_activations: 9\ngpc_invalidations: 7\n"
            c = {"before": "timing_enters: 5\ntiming_exits: 5\nguest_enters: 9\n"
                           "guest_exits: 9\nmisuse_irqs_on: 0\nregistrations: 2\n"
                           "unregistrations: 2\n" + gpc0,
                 "run": "timing_enters: 50\ntiming_exits: 50\nguest_enters: 90\n"
                        "guest_exits: 90\nmisuse_irqs_on: 0\nregistrations: 3\n"
                        "unregistrations: 2\n" + gpc0,
                 "after": "timing_enters: 50\ntiming_exits: 50\nguest_enters: 90\n"
                          "guest_exits: 90\nmisuse_irqs_on: 0\nregistrations: 3\n"
                          "unregistrations: 3\n" + gpc1,
                 "storm_before": gpc0}
            c["run"] += "gpc_invalidations: 7\n"
            c.update(counters or {})
            for n, text in c.items():
                write("%s/kvm/guestgate/counters.%s" % (d, n), text)
            for n in ("samples_before", "samples", "samples_after") if samples else ():
                write("%s/kvm/guestgate/%s.tap" % (d, n), "TAP version 13\n1..1\nok 1 kvm.x\n")
            return judge_kvm(d, [x.replace("storm/", "storm/x86_64/") if "storm" in x
                                 else "x86_64/" + x for x in results])

        expect("KVM selftests passing on both kvms, counters moved, pass", kvm_run("ok"), False)
        expect("a KVM selftest that passes on stock and fails on guestgate fails",
               kvm_run("gg", {"a": ("0 5", "254 6")}), True, "passes on stock kvm, fail")
        expect("a KVM selftest passing on both kvms after a failed attempt passes",
               kvm_run("ra", {"a": ("254 5,0 5", "254 6,254 6,0 6")}), False)
        expect("a KVM selftest failing every attempt on guestgate fails",
               kvm_run("rf", {"a": ("254 5,0 5", "254 6,254 6,254 6")}), True,
               "passes on stock kvm, fail")
        tries = Suite("t")
        r = kvm_result(os.path.join(t, "kvm-ra"), "guestgate", "x86_64/a")
        tries.add("PASS" if r and r[0] == "pass" and len(r[3]) == 2
                  and "a.c:976: evtchn_irq_expected" in r[3][0][2] else "FAIL", "tries",
                  "result %s" % (r,))
        expect("a failed attempt is reported with the assertion that failed", tries, False)
        write("l/list", "x86_64/a\t\tstorm\t# 4 s\nx86_64/b attempts=3 storm # 9 s\n"
              "x86_64/c attempts=3\n# x86_64/d storm\n")
        listed = Suite("t")
        names = kvm_selftests(os.path.join(t, "l", "list"))
        listed.add("PASS" if names == ["x86_64/a", "x86_64/b", "x86_64/c", "storm/x86_64/a",
                                       "storm/x86_64/b"] else "FAIL", "list",
                   "read as %s" % names)
        expect("the list's storm mark is read beside attempts=N", listed, False)
        expect("a KVM selftest skipped on stock and run on guestgate fails",
               kvm_run("sk", {"a": ("4 5", "0 6")}), True, "skipped on stock kvm")
        expect("a KVM selftest failing on stock fails the list",
               kvm_run("st", {"a": ("1 5", "1 6")}), True, "fails on stock kvm already")
        expect("a KVM selftest that never ran fails",
               kvm_run("nr", {"a": ("0 5", "")}), True, "never ran")
        expect("guest entries that did not move fail",
               kvm_run("ge", counters={"run": "timing_enters: 5\ntiming_exits: 5\n"
                                              "guest_enters: 9\nguest_exits: 9\n"
                                              "misuse_irqs_on: 0\nregistrations: 3\n"}),
               True, "went through guestgate")
        expect("a misuse counter that moved fails",
               kvm_run("mi", counters={"after": "timing_enters: 50\ntiming_exits: 50\n"
                                                "guest_enters: 90\nguest_exits: 90\n"
                                                "misuse_irqs_on: 1\nregistrations: 3\n"
                                                "unregistrations: 3\n"}),
               True, "misuse_irqs_on +1")
        expect("kvm that never registered with guestgate fails",
               kvm_run("re", counters={"run": "timing_enters: 50\ntiming_exits: 50\n"
                                              "guest_enters: 90\nguest_exits: 90\n"
                                              "misuse_irqs_on: 0\nregistrations: 2\n"
                                              "unregistrations: 2\n"}),
               True, "registered its perf callbacks")
        expect("kvm_guest_samples that never ran fails",
               kvm_run("sa", samples=False), True, "kvm_guest_samples")
        gpc_inv7 = "gpc_invalidations: 7\n"
        after = ("timing_enters: 50\ntiming_exits: 50\nguest_enters: 90\n"
                 "guest_exits: 90\nmisuse_irqs_on: 0\nregistrations: 3\n"
                 "unregistrations: 3\n")
        expect("kvm whose pfn caches are not guestgate's fails",
               kvm_run("pc", counters={"after": after + "gpc_caches: 1\ngpc_activations: 4\n"
                                       "gpc_refreshes: 4\ngpc_hits: 10\n"}),
               True, "pfn caches went through guestgate (activations)")
        expect("a KVM selftest under the storm passing on both kvms passes",
               kvm_run("so", {"a": ("0 5", "0 6"), "storm/a": ("0 5", "0 6")}), False)
        expect("a KVM selftest that passes on stock and fails on guestgate under the storm fails",
               kvm_run("sf", {"a": ("0 5", "0 6"), "storm/a": ("0 5", "1 6")}), True,
               "kvm selftest storm/x86_64/a")
        expect("a storm that did not run fails",
               kvm_run("sn", {"storm/a": ("0 5", "0 6")}, storm=""), True,
               "the invalidation storm ran")
        expect("a storm that did not reach kvm's caches fails",
               kvm_run("si", {"storm/a": ("0 5", "0 6")},
                       counters={"storm_before": gpc_inv7}), True,
               "the storm invalidated")
        expect("a pfn cache left behind by kvm fails",
               kvm_run("pl", counters={"after": after + "gpc_caches: 2\ngpc_activations: 9\n"
                                       "gpc_refreshes: 9\ngpc_hits: 30\n"}),
               True, "caches +1 after kvm unloaded")
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
    global tap_parser
    tap_parser = TapParser(kdir)

    suites = []
    vm = Suite("vm")
    finished = os.path.exists(os.path.join(args.results, "done"))
    vm.add("PASS" if finished else "FAIL", "the VM ran the tests to the end",
           "" if finished else vm_outcome(args.results))
    suites.append(vm)
    if finished:
        life = Suite("lifecycle")
        tap_parser.judge(life, os.path.join(args.results, "lifecycle.tap"))
        suites.append(life)
        if not args.demo:
            suites += [judge_kunit(args.results), judge_kselftests(args.results),
                       judge_kvm(args.results)]
    suites.append(judge_kernel(args.results))
    if finished and not args.demo:
        suites += [judge_canary(args.results), self_test()]
    if args.lint:
        lint = Suite("lint")
        tap_parser.judge(lint, args.lint)
        suites.append(lint)

    for s in suites:
        print("%-10s %d passed, %d failed, %d skipped" % (s.name + ":", s.passed, s.failed, s.skipped))
        for fl in s.failures:
            print("  FAIL " + fl)
        for sk in s.skips:
            print("  SKIP " + sk)
    if not args.demo:
        print_kvm_table(args.results)
    print_time_table(args.results)
    p = sum(s.passed for s in suites)
    f = sum(s.failed for s in suites)
    k = sum(s.skipped for s in suites)
    print("%d passed, %d failed, %d skipped" % (p, f, k))
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
