#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the noinstr code of linked module objects on the host.

Usage: noinstr-check.py --kdir KDIR [--also OBJ]... [--allow-empty] OBJ...

The kernel validates noinstr code (.noinstr.text, .entry.text, .cpuidle.text:
no tracing, RCU or sanitizer code between the annotations of
instrumentation_begin() and instrumentation_end()) with objtool --noinstr on
vmlinux.o only. This runs the same validation on a module's linked
relocatable object (the <module>.o that ld -r and objtool made, before
modpost: it still has the .discard.instr_begin/.discard.instr_end
annotations, which the .ko has lost), in two independent ways.

1. objtool. It decides whether a call leaves noinstr code from the section of
   the callee's symbol, and a symbol the object only references has none: on
   its own, objtool would flag every call out of the module. So each
   undefined symbol gets a stub that gives it the section it has at home:

   - in another module given with --also: that object's own section for it;
   - in vmlinux (System.map): .noinstr.text if its address lies within
     [__noinstr_text_start, __noinstr_text_end), which holds .cpuidle.text
     too, or [__entry_text_start, __entry_text_end); .text for any other
     code; .data for data. The retpoline and return thunks (which objtool
     recognises by name, and which vmlinux.o has in .text..__x86.* sections
     that System.map does not show) get such a section. Checked against
     vmlinux.o's sections, these ranges give the same global functions;
     System.map is used because a build tree has it and it is small;
   - nowhere: .text, assumed instrumented, and said so.

   ld.lld -r (the kernel's LLVM=1 linker) links the object and the stubs
   into a new file in a temporary directory (the object itself is only
   read), and objtool runs on it with the actions of
   scripts/Makefile.vmlinux_o that concern noinstr (see OBJTOOL_ARGS).
   Without --stackval, --orc or --uaccess, objtool validates the noinstr
   sections only, so the rest of the object (the Rust code) is not
   validated; a warning placed in a function outside them would not count,
   and is listed as filtered. The 6.12 objtool exits 0 on warnings: its
   output is what counts. It stops at the first finding in a function: a
   failing function may hide more.

   objtool's own rules carry over: a call through a static call trampoline
   and __ubsan_handle_*() pass, an indirect call fails. A pv_ops call would
   be judged from vmlinux's pv_ops initialisers, which a module's object
   does not have: 2 fails it instead.

2. The disassembly (llvm-objdump -dr) of each function in a noinstr section
   of the object as built: any relocation against the compiler's sanitizer
   entry points (__asan_, __hwasan_, __sanitizer_cov_, __tsan_, __msan_,
   __ubsan_ but __ubsan_handle_, which objtool allows too) and any immediate
   equal to CONFIG_KASAN_SHADOW_OFFSET fail, wherever they are: they mean
   the compiler instrumented the function, inside or outside an
   instrumentation_begin() region. Explicit checks (__kasan_check_read()
   from instrument_read(), ...) are ordinary calls, legitimate inside such a
   region, and left to objtool. Any relocation against pv_ops fails (see
   above). R_X86_64_NONE relocations are calls that the build's objtool
   (--hacks=noinstr, --mnop) already replaced with NOPs, and do not count.

Prints TAP, one line per object, after the noinstr functions checked and
the findings as comments. An object without noinstr functions fails unless
--allow-empty is given: a check of nothing cannot fail. Exits 1 on any
failure.
"""

import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile

NOINSTR_SECTIONS = (".noinstr.text", ".entry.text", ".cpuidle.text")

# Named by objtool (arch/x86/decode.c): it treats these calls by name.
THUNK_RE = re.compile(r"^(__x86_indirect_|__x86_return_thunk$|retbleed_return_thunk$|"
                      r"srso_safe_ret$)")

# objtool actions for vmlinux.o's noinstr validation (scripts/Makefile.lib,
# scripts/Makefile.vmlinux_o), less those that annotate or patch rather
# than validate; --module and --dry-run as for a module, on a temporary file.
OBJTOOL_ARGS = ["--noinstr", "--hacks=noinstr", "--link", "--module", "--dry-run"]

SANITIZER_RE = re.compile(r"^(__asan_|__hwasan_|__sanitizer_cov_|__tsan_|__msan_|__ubsan_)")
SANITIZER_ALLOWED_RE = re.compile(r"^__ubsan_handle_")

LD = "ld.lld"
CC = "clang"
OBJDUMP = "llvm-objdump"

SHT_SYMTAB = 2
SHT_SYMTAB_SHNDX = 18
SHF_EXECINSTR = 0x4
SHN_UNDEF = 0
SHN_LORESERVE = 0xff00
SHN_XINDEX = 0xffff
STT_FUNC = 2


class Elf:
    """The sections and symbols of an ELF64 little-endian relocatable object."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ValueError("%s: not an ELF64 little-endian object" % path)
        shoff, = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3a)
        # Past 0xff00 sections, the counts are in section 0.
        first = self._shdr(shoff)
        shnum = shnum or first[4]
        if shstrndx == SHN_XINDEX:
            shstrndx = first[5]
        hdrs = [self._shdr(shoff + i * shentsize) for i in range(shnum)]
        names = hdrs[shstrndx]
        self.sections = []
        for name, typ, flags, off, size, link, _ in hdrs:
            self.sections.append({"name": self._str(names[3] + name), "type": typ,
                                  "flags": flags, "off": off, "size": size, "link": link})
        self.symbols = []
        self.globals = None
        symtab = [i for i, s in enumerate(self.sections) if s["type"] == SHT_SYMTAB]
        if not symtab:
            return
        sym = self.sections[symtab[0]]
        strtab = self.sections[sym["link"]]["off"]
        xindex = [s for s in self.sections
                  if s["type"] == SHT_SYMTAB_SHNDX and s["link"] == symtab[0]]
        for i in range(sym["size"] // 24):
            name, info, _, shndx, value, size = struct.unpack_from("<IBBHQQ", d,
                                                                   sym["off"] + i * 24)
            if shndx == SHN_XINDEX and xindex:
                shndx, = struct.unpack_from("<I", d, xindex[0]["off"] + i * 4)
            elif shndx >= SHN_LORESERVE:
                shndx = -shndx
            self.symbols.append({"name": self._str(strtab + name), "type": info & 0xf,
                                 "bind": info >> 4, "shndx": shndx, "value": value,
                                 "size": size})

    def _shdr(self, off):
        name, typ, flags, _, off, size, link, info = struct.unpack_from("<IIQQQQII", self.data, off)
        return name, typ, flags, off, size, link, info

    def _str(self, off):
        return self.data[off:self.data.index(b"\0", off)].decode()

    def section_of(self, sym):
        """The section of a defined symbol, or None."""
        if sym["shndx"] <= SHN_UNDEF or sym["shndx"] >= len(self.sections):
            return None
        return self.sections[sym["shndx"]]

    def kind_of(self, sym):
        """'noinstr', 'text' or 'data' for a defined symbol, None if undefined."""
        sec = self.section_of(sym)
        if sec is None:
            return None if sym["shndx"] == SHN_UNDEF else "data"
        if sec["name"] in NOINSTR_SECTIONS:
            return "noinstr"
        return "text" if sec["flags"] & SHF_EXECINSTR else "data"

    def kind_of_global(self, name):
        """kind_of() the global or weak symbol name defines, None if none."""
        if self.globals is None:
            self.globals = {s["name"]: s for s in self.symbols
                            if s["bind"] != 0 and s["shndx"] != SHN_UNDEF}
        sym = self.globals.get(name)
        return self.kind_of(sym) if sym else None

    def noinstr_functions(self):
        return sorted(s["name"] for s in self.symbols
                      if s["type"] == STT_FUNC and self.kind_of(s) == "noinstr")

    def undefined(self):
        return sorted({s["name"] for s in self.symbols
                       if s["shndx"] == SHN_UNDEF and s["name"]})


class Vmlinux:
    """Where vmlinux's symbols live, from System.map."""

    def __init__(self, kdir):
        self.syms = {}
        with open(os.path.join(kdir, "System.map")) as f:
            for line in f:
                addr, typ, name = line.split()[:3]
                # A module links to the global one of a name.
                if name not in self.syms or typ.isupper():
                    self.syms[name] = (int(addr, 16), typ)
        self.ranges = []
        for start, end in (("__noinstr_text_start", "__noinstr_text_end"),
                           ("__entry_text_start", "__entry_text_end")):
            if start not in self.syms or end not in self.syms:
                raise ValueError("System.map: no %s/%s" % (start, end))
            self.ranges.append((self.syms[start][0], self.syms[end][0]))

    def kind_of(self, name):
        if name not in self.syms:
            return None
        addr, typ = self.syms[name]
        if typ not in "TtWw":
            return "data"
        if any(start <= addr < end for start, end in self.ranges):
            return "noinstr"
        return "text"


def kasan_shadow_offset(kdir):
    """CONFIG_KASAN_SHADOW_OFFSET of a KASAN generic kernel, or None."""
    conf = {}
    with open(os.path.join(kdir, ".config")) as f:
        for line in f:
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line.strip())
            if m:
                conf[m.group(1)] = m.group(2)
    if conf.get("CONFIG_KASAN_GENERIC") != "y" or "CONFIG_KASAN_SHADOW_OFFSET" not in conf:
        return None
    return int(conf["CONFIG_KASAN_SHADOW_OFFSET"], 0)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    return p.returncode, p.stdout


def stubs_source(obj, also, vmlinux, notes):
    """Assembler defining every undefined symbol of obj as it is at home."""
    out = []
    for name in obj.undefined():
        kind = None
        for other in also:
            kind = other.kind_of_global(name)
            if kind:
                break
        if kind is None:
            kind = vmlinux.kind_of(name)
        if name == "__this_module":
            # Defined by modpost, in <module>.mod.c.
            kind = "data"
        if THUNK_RE.match(name):
            kind = "thunk"
        if kind is None:
            notes.append("%s: not in vmlinux nor in --also objects, taken as instrumented"
                         % name)
            kind = "text"
        section, typ = {
            "noinstr": ('.noinstr.text, "ax", @progbits', "@function"),
            "thunk": ('.text..__x86.noinstr_check_stubs, "ax", @progbits', "@function"),
            "text": ('.text, "ax", @progbits', "@function"),
            # Large enough for objtool's reading of pv_ops.
            "data": ('.data, "aw", @progbits', "@object"),
        }[kind]
        body = "\t.zero 4096" if kind == "data" else "\tret"
        q = '"%s"' % name
        out += ["\t.section %s" % section, "\t.globl %s" % q, "\t.type %s, %s" % (q, typ),
                "%s:" % q, body, "\t.size %s, . - %s" % (q, q)]
    return "\n".join(out) + "\n"


# "FILE: warning: objtool: FUNC+0xOFF: message", or FUNC(): or no place.
OBJTOOL_LINE_RE = re.compile(r"^(?:.*?): (?:warning|error): objtool: (.*)$")
OBJTOOL_PLACE_RE = re.compile(r"^([^\s+:()]+)(?:\+0x[0-9a-f]+|\(\)): ")


def objtool_findings(path, kdir, funcs, filtered):
    """objtool's findings in noinstr code of a linked object.

    A warning placed in a function outside the noinstr sections is filtered;
    anything else counts, a warning with no place (a bad annotation) too.
    """
    objtool = os.path.join(kdir, "tools", "objtool", "objtool")
    rc, out = run([objtool] + OBJTOOL_ARGS + [path])
    findings = []
    for line in out.splitlines():
        m = OBJTOOL_LINE_RE.match(line)
        msg = m.group(1) if m else line
        place = OBJTOOL_PLACE_RE.match(msg)
        if place and place.group(1) not in funcs and place.group(1) not in NOINSTR_SECTIONS:
            filtered.append(msg)
        else:
            findings.append("objtool: " + msg)
    if rc != 0:
        findings.append("objtool exited with %d" % rc)
    return findings


DIS_FUNC_RE = re.compile(r"^[0-9a-f]+ <(.+)>:$")
DIS_RELOC_RE = re.compile(r"^\s+([0-9a-f]+):\s+(R_\w+)\s+([^\s+-]+)")
DIS_INSN_RE = re.compile(r"^\s+([0-9a-f]+):\s+(.*)$")
# llvm-objdump prints large immediates in decimal, small ones in hex.
DIS_IMM_RE = re.compile(r"\$(-?(?:0x[0-9a-f]+|[0-9]+))")


def disassembly_findings(path, sections, funcs, shadow):
    """Sanitizer calls and KASAN shadow accesses in the object's noinstr code."""
    findings = []
    cmd = [OBJDUMP, "-dr", "--no-show-raw-insn"]
    for sec in sections:
        cmd += ["-j", sec]
    rc, out = run(cmd + [path])
    if rc != 0:
        return ["%s failed: %s" % (OBJDUMP, out.strip())]
    func = None
    for line in out.splitlines():
        m = DIS_FUNC_RE.match(line)
        if m:
            func = m.group(1) if m.group(1) in funcs else None
            base = int(line.split()[0], 16)
            continue
        if func is None:
            continue
        m = DIS_RELOC_RE.match(line)
        if m:
            off, typ, sym = int(m.group(1), 16) - base, m.group(2), m.group(3)
            if typ == "R_X86_64_NONE":
                continue
            if SANITIZER_RE.match(sym) and not SANITIZER_ALLOWED_RE.match(sym):
                findings.append("sanitizer: %s+0x%x: %s against %s" % (func, off, typ, sym))
            elif sym == "pv_ops":
                findings.append("pv_ops: %s+0x%x: call targets known only in vmlinux"
                                % (func, off))
            continue
        m = DIS_INSN_RE.match(line)
        if m and shadow is not None:
            for imm in DIS_IMM_RE.findall(m.group(2)):
                if int(imm, 0) & (2**64 - 1) == shadow:
                    findings.append("kasan: %s+0x%x: KASAN shadow offset %#x: %s"
                                    % (func, int(m.group(1), 16) - base, shadow,
                                       " ".join(m.group(2).split())))
    return findings


def check(path, args, vmlinux, also, shadow):
    """The comment lines and the verdict of one object."""
    obj = Elf(path)
    funcs = obj.noinstr_functions()
    sections = sorted({s["name"] for s in obj.sections if s["name"] in NOINSTR_SECTIONS})
    lines = ["%s: noinstr: %s" % (path, f) for f in funcs]
    if not funcs:
        if args.allow_empty:
            return lines, "ok", " # SKIP no noinstr functions"
        return lines + ["%s: no noinstr functions" % path], "not ok", ""

    notes, filtered = [], []
    with tempfile.TemporaryDirectory(prefix="noinstr-check.") as tmp:
        stubs = os.path.join(tmp, "stubs.S")
        with open(stubs, "w") as f:
            f.write(stubs_source(obj, also, vmlinux, notes))
        linked = os.path.join(tmp, os.path.basename(path))
        findings = []
        for cmd in ([CC, "--target=x86_64-linux-gnu", "-c", "-o", stubs + ".o", stubs],
                    [LD, "-m", "elf_x86_64", "-r", "-o", linked, path, stubs + ".o"]):
            rc, out = run(cmd)
            if rc != 0:
                findings.append("%s failed: %s" % (cmd[0], out.strip()))
                break
        else:
            findings += objtool_findings(linked, args.kdir, funcs, filtered)
    findings += disassembly_findings(path, sections, funcs, shadow)

    lines += ["%s: note: %s" % (path, n) for n in notes]
    if filtered:
        lines.append("%s: %d objtool warning(s) outside noinstr code, not counted:"
                     % (path, len(filtered)))
        lines += ["  " + w for w in filtered]
    lines += ["%s: FAIL %s" % (path, f) for f in findings]
    return lines, "not ok" if findings else "ok", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kdir", required=True, help="the kernel build tree")
    ap.add_argument("--also", action="append", default=[], metavar="OBJ",
                    help="a module object whose symbols OBJ may use")
    ap.add_argument("--allow-empty", action="store_true",
                    help="pass an object without noinstr functions")
    ap.add_argument("objects", nargs="+", metavar="OBJ", help="a linked module object")
    args = ap.parse_args()

    try:
        vmlinux = Vmlinux(args.kdir)
        also = [Elf(p) for p in args.also]
        shadow = kasan_shadow_offset(args.kdir)
    except (OSError, ValueError) as e:
        print("noinstr-check.py: %s" % e, file=sys.stderr)
        return 2

    print("TAP version 13")
    print("1..%d" % len(args.objects))
    failed = False
    for i, path in enumerate(args.objects, 1):
        try:
            lines, verdict, directive = check(path, args, vmlinux, also, shadow)
        except (OSError, ValueError) as e:
            lines, verdict, directive = [str(e)], "not ok", ""
        for line in lines:
            print("# " + line)
        print("%s %d %s%s" % (verdict, i, path, directive))
        failed |= verdict != "ok"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
