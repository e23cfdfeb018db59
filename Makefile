# SPDX-License-Identifier: GPL-2.0
#
# guestgate. See README.md and Documentation/building-and-testing.rst.
#
#   make          build guestgate.ko, the test modules and the sample
#                 against KDIR (default: the cached test kernel)
#   make guestgate  build guestgate.ko alone (the product)
#   make run      set up, build the test kernel once, boot it and show guestgate
#   make check    set up, build, run every test in the VM and lint; the last
#                 line is "N passed, N failed, N skipped"
#   make bench    the benchmarks in the VM (ratios, one run; a bench kernel
#                 without lockdep and KASAN is built once for the pfn cache)
#   make kvm      kvm.ko + kvm-amd.ko on guestgate (kvm/patches/) and the
#                 kernel's KVM selftests, both cached; make check runs them
#   make setup | kernel | selftests | lint | clean

GG_TOOLS := tools/testing/guestgate
SELFTESTS := tools/testing/selftests/guestgate
gg_env = $(shell bash $(GG_TOOLS)/gg-env $(1))

# A Rust-enabled 6.12 build tree and the rustc and bindgen it was built with.
# RUSTC and BINDGEN are taken from the command line only: a RUSTC in the
# environment (rustup's) is not the kernel's.
ifndef KDIR
KDIR := $(call gg_env,kdir)
endif
ifneq ($(origin RUSTC),command line)
RUSTC := $(call gg_env,rustc)
endif
ifneq ($(origin BINDGEN),command line)
BINDGEN := $(call gg_env,bindgen)
endif
KMAKE := $(MAKE) -C $(KDIR) LLVM=1 RUSTC=$(RUSTC) BINDGEN=$(BINDGEN)

.PHONY: all modules guestgate setup kernel selftests kvm lint check run bench clean have-kdir

all: modules

modules: have-kdir
	$(KMAKE) M=$(CURDIR) modules
	$(KMAKE) M=$(CURDIR)/samples/guestgate \
		KBUILD_EXTRA_SYMBOLS=$(CURDIR)/Module.symvers modules

guestgate: have-kdir
	$(KMAKE) M=$(CURDIR) GUESTGATE_PRODUCT=y modules

have-kdir:
	@test -f "$(KDIR)/Module.symvers" || { \
		echo "guestgate: no kernel build tree at KDIR=$(KDIR)"; \
		echo "guestgate: run 'make kernel' (or 'make run' / 'make check'),"; \
		echo "guestgate: or pass KDIR=<a Rust-enabled 6.12 build tree>"; \
		exit 1; }

setup:
	@bash $(GG_TOOLS)/setup.sh

# The kernel's path depends on the installed source package: the targets
# that need it run in a new make, after setup.
kernel: setup
	@bash $(GG_TOOLS)/build-kernel.sh >/dev/null

selftests: have-kdir
	$(MAKE) -C $(SELFTESTS) KDIR=$(KDIR)

kvm: modules
	@KDIR=$(KDIR) bash kvm/build.sh

lint: kvm
	@KDIR=$(KDIR) bash $(GG_TOOLS)/lint.sh

check: kernel
	@GG_MAKE="$(MAKE) --no-print-directory -s" bash $(GG_TOOLS)/check.sh

bench: kernel
	@$(MAKE) --no-print-directory -s modules selftests kvm
	@bash $(GG_TOOLS)/bench.sh

run: kernel
	@$(MAKE) --no-print-directory -s modules selftests kvm
	@bash $(GG_TOOLS)/run.sh

clean:
	@if test -f "$(KDIR)/Makefile"; then \
		$(KMAKE) M=$(CURDIR) clean; \
		$(KMAKE) M=$(CURDIR)/samples/guestgate clean; \
	fi
	$(MAKE) -C $(SELFTESTS) KDIR=$(KDIR) clean
	rm -rf build
