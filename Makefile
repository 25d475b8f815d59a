# visionllama_mm — `make demo` and `make test` work on a fresh machine with only Python.
PYTHON ?= python
DEMO_CONFIG ?= configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py
PYTEST_ARGS ?=

.PHONY: install demo test test-fast demo-data benchmark clean

install:  ## install what is missing into the active Python (idempotent)
	PYTHON=$(PYTHON) bash tools/misc/install.sh

demo: install  ## train the demo classifier on data/demo and print its accuracy
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo
	$(PYTHON) tools/misc/print_metrics.py work_dirs/demo

test: install  ## run the linters (setup.cfg), then the test suite
	$(PYTHON) -m flake8 .
	$(PYTHON) -m isort --check-only --diff .
	$(PYTHON) -m yapf --diff --recursive .
	$(PYTHON) -m pytest tests $(PYTEST_ARGS)

test-fast: install  ## the tests not marked slow: no subprocess, compile, distributed group or runner training (tests/conftest.py)
	$(PYTHON) -m pytest tests -m "not slow" $(PYTEST_ARGS)

demo-data:  ## regenerate the bundled demo data (deterministic)
	$(PYTHON) tools/misc/make_demo_data.py --out data/demo

benchmark: install  ## CPU: our backbones vs mmpretrain ViT-B/16 and mmseg Twins-SVT-S (GPU: tools/misc/gpu_bench.sh)
	$(PYTHON) tools/analysis_tools/benchmark.py --bench forward --ref mm --device cpu \
		visionllama-b pyramid-visionllama-s --batch-size visionllama-b=8,pyramid-visionllama-s=4

clean:
	rm -rf work_dirs/*/ .pytest_cache
