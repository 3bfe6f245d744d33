# csefem: the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
MPIEXEC := $(BIN)/mpiexec
NP ?= 2
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1
export UCX_TLS ?= self,sm,tcp
export PYVISTA_OFF_SCREEN ?= true
export VTK_DEFAULT_OPENGL_WINDOW ?= vtkEGLRenderWindow
export MPIEXEC_TIMEOUT ?= 3000

# A Python >= 3.12: plain names first, then pyenv's and the system's install dirs
# (pyenv shims can exist for versions that are not active, so each is tried).
PY_CANDIDATES := python3.12 python3.13 python3.14 \
  $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12) \
  $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) \
  $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
  /usr/bin/python3.12 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/local/bin/python3.13 python3
PYTHON ?= $(firstword $(foreach p,$(PY_CANDIDATES),$(shell $(p) -c 'import sys; print("ok") if sys.version_info >= (3, 12) else None' 2>/dev/null | grep -q ok && echo $(p))))

.PHONY: install demo test test-serial test-mpi paraview-check lint bench mutate docker docker-base clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found (tried: $(PY_CANDIDATES)); set PYTHON=/path/to/python3.12" >&2; exit 2; }
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Run the default study end to end (PEO vs PLM, short version).
demo: $(STAMP)
	$(MPIEXEC) -n $(NP) $(BIN)/csefem run studies/demo.toml --out results/demo

## Serial pytest, then the parallel tests under the venv's mpiexec.
test: test-serial test-mpi

test-serial: $(STAMP)
	$(BIN)/python -m pytest -q tests

test-mpi: $(STAMP)
	$(MPIEXEC) -n $(NP) $(BIN)/python -m mpi4py -m pytest -q -m "not serial" tests

## ParaView 5.13 (VTX and XDMF) reads back what csefem writes: builds the Debian trixie root
## filesystem once with mmdebstrap (~3 min; cached in ~/.cache/csefem/paraview-5.13-rootfs,
## or $$CSEFEM_PARAVIEW_ROOTFS) and runs tests/test_paraview.py; skipped, with the reason,
## where mmdebstrap, the Debian mirror or root is missing.
paraview-check: $(STAMP)
	@root=$$($(BIN)/python tests/paraview_rootfs.py build); rc=$$?; \
	if [ $$rc -eq 77 ]; then exit 0; elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	echo "paraview-check: ParaView 5.13 root filesystem $$root"; \
	CSEFEM_PARAVIEW_ROOTFS=$$root $(BIN)/python -m pytest -q -rs -k trixie tests/test_paraview.py

lint: $(STAMP)
	$(BIN)/python -m compileall -q fem geometries studies tests
	$(BIN)/hadolint containers/Dockerfile containers/Dockerfile.dolfinx

## Benchmarks: each script records its results file next to it (studies/benchmarks/results_*.md);
## run by hand without --record they go to results/benchmarks/ (not tracked)
bench: $(STAMP)
	set -e; for f in studies/benchmarks/bench_*.py; do $(BIN)/python $$f --record; done

## Mutation check (not part of `make test`): physics mutations one at a time, each must fail a
## test; writes studies/benchmarks/results_mutation.md (~6 min on 2 cores)
mutate: $(STAMP)
	$(BIN)/python studies/benchmarks/mutate.py

docker:
	docker build -f containers/Dockerfile -t csefem:0.1.0 .

## Only where no container registry is reachable: the Dockerfile's base image built from
## this machine's Debian mirror with mmdebstrap (then `make docker`).
docker-base:
	containers/build-base.sh

clean:
	rm -rf $(VENV) results
