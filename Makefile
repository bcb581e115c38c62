# `make demo` and `make test` each create .venv when missing and install what they need, then run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_OUT ?= demo_out
LEARN_OUT ?= learn_out
SEED ?= 0
SLIP ?=  # make learn: the text task's SFT demonstrator slip, e.g. none or wait=back:0.5 (the default)

# torch goes in first and explicitly: a bare `torch` requirement can pull a multi-GB CUDA build.
ifeq ($(shell uname -m),aarch64)
TORCH := torch==2.9.1 torchvision==0.24.1
else
TORCH := torch==2.14.1 torchvision==0.29.1
endif

.PHONY: install browser demo learn learn-report gpu-check test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install $(TORCH)
	touch $@

$(VENV)/.installed: pyproject.toml constraints.txt $(VENV)/.torch
	DS_BUILD_OPS=0 $(BIN)/pip install -c constraints.txt -e '.[all]'
	touch $@

install: $(VENV)/.installed

# The report's browser test drives Debian's headless chromium through chromium-driver (playwright's own
# browser download needs a network we may not have): installed here when missing, as root, without
# questions; elsewhere the test is skipped and says why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	    || echo "browser: apt-get could not install chromium; tests/test_report_browser.py will be skipped"; \
	  else echo "browser: chromium/chromedriver missing and not root; tests/test_report_browser.py will be skipped"; fi; \
	fi

# The whole pipeline on the built-in sample corpus (examples/corpus: 6 tasks, 30 steps): build and
# inspect a dataset, warm-start a tiny offline Qwen2.5-VL with SFT and train it with GRPO on CPU,
# predict, score, evaluate, draw, plot the run's curves.
demo: install
	@rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	$(BIN)/gui-agent-rl schema > $(DEMO_OUT)/action.schema.json
	$(BIN)/gui-agent-rl build examples/corpus --output $(DEMO_OUT)/corpus.jsonl --val-fraction 0.2 --seed 0 --workers 2
	$(BIN)/gui-agent-rl stats $(DEMO_OUT)/corpus.jsonl --max-pixels 1003520 --max-prompt-tokens 4096
	$(BIN)/gui-agent-rl show $(DEMO_OUT)/corpus.jsonl --id 3
	$(BIN)/gui-agent-rl tiny-model $(DEMO_OUT)/tiny-qwen2.5-vl
	$(BIN)/gui-agent-rl sft --config recipes/tiny-cpu-sft.yaml --model_name_or_path $(DEMO_OUT)/tiny-qwen2.5-vl \
	  --data_file_paths $(DEMO_OUT)/corpus.jsonl --image_folders examples/corpus \
	  --output_dir $(DEMO_OUT)/sft --max_steps 4
	$(BIN)/gui-agent-rl train --config recipes/tiny-cpu.yaml --model_name_or_path $(DEMO_OUT)/sft \
	  --data_file_paths $(DEMO_OUT)/corpus.jsonl --image_folders examples/corpus \
	  --output_dir $(DEMO_OUT)/grpo --max_steps 4
	$(BIN)/gui-agent-rl predict --model $(DEMO_OUT)/grpo --dataset $(DEMO_OUT)/corpus.val.jsonl \
	  --image-folder examples/corpus --output $(DEMO_OUT)/predictions.jsonl --max-new-tokens 48 --max-pixels 50176
	$(BIN)/gui-agent-rl score --dataset $(DEMO_OUT)/corpus.val.jsonl --predictions $(DEMO_OUT)/predictions.jsonl \
	  --output $(DEMO_OUT)/scores.jsonl --max-pixels 50176
	$(BIN)/gui-agent-rl eval --dataset $(DEMO_OUT)/corpus.val.jsonl --predictions $(DEMO_OUT)/predictions.jsonl \
	  --output $(DEMO_OUT)/metrics.json --by-task --max-pixels 50176
	$(BIN)/gui-agent-rl viz --dataset $(DEMO_OUT)/corpus.val.jsonl --predictions $(DEMO_OUT)/predictions.jsonl \
	  --image-folder examples/corpus --output $(DEMO_OUT)/pictures --limit 6 --max-pixels 50176
	$(BIN)/gui-agent-rl curve $(DEMO_OUT)/grpo --output $(DEMO_OUT)/grpo.curve.png
	$(BIN)/gui-agent-rl report --dataset $(DEMO_OUT)/corpus.val.jsonl --predictions $(DEMO_OUT)/predictions.jsonl \
	  --image-folder examples/corpus --run $(DEMO_OUT)/sft --run $(DEMO_OUT)/grpo --max-pixels 50176 \
	  --workers 2 --output $(DEMO_OUT)/report
	@echo
	@echo "demo: dataset $(DEMO_OUT)/corpus.jsonl (+ .val.jsonl, .report.jsonl); SFT $(DEMO_OUT)/sft;"
	@echo "      GRPO run $(DEMO_OUT)/grpo (curves $(DEMO_OUT)/grpo.curve.png)"
	@echo "      (rollouts.jsonl, trainer_state.json); metrics $(DEMO_OUT)/metrics.json;"
	@echo "      pictures of true (green) vs predicted (red) actions in $(DEMO_OUT)/pictures/"
	@echo "      (a random tiny model: expect low scores; the point is that every stage runs;"
	@echo "       make learn shows the loop learning)"
	@echo "report: $(DEMO_OUT)/report/index.html (open it in a browser; no server needed)"

# Does the loop learn? For two synthetic tasks (text: the instruction decides the action; grounding: tap
# the named button): synth -> build -> SFT -> held-out eval -> GRPO -> held-out eval -> curves, on CPU.
# Prints SFT vs GRPO held-out greedy/sampled accuracy, format rate and step success per task and writes
# $(LEARN_OUT)/summary.json, the predictions and the curve PNGs. About 12 minutes on 2 cores.
# The text task's SFT demonstrator slips (half its waits recorded as back; SLIP=none: clean demos).
learn: install
	@rm -rf $(LEARN_OUT)
	$(BIN)/python -m gui_agent_rl.learn --seed $(SEED) --output $(LEARN_OUT) $(if $(strip $(SLIP)),--slip $(SLIP))
	$(MAKE) --no-print-directory learn-report TASK=text PIXELS=3136
	$(MAKE) --no-print-directory learn-report TASK=grounding PIXELS=12544
	@echo "report: $(LEARN_OUT)/text/report/index.html and $(LEARN_OUT)/grounding/report/index.html"

# One task of `make learn` as a page: GRPO beside SFT on the held-out steps, both runs' reward curves.
learn-report:
	$(BIN)/gui-agent-rl report --dataset $(LEARN_OUT)/$(TASK)/data.val.jsonl \
	  --predictions $(LEARN_OUT)/$(TASK)/grpo/heldout.predictions.jsonl \
	  --compare $(LEARN_OUT)/$(TASK)/sft/heldout.predictions.jsonl --image-folder $(LEARN_OUT)/$(TASK)/corpus \
	  --run $(LEARN_OUT)/$(TASK)/sft --run $(LEARN_OUT)/$(TASK)/grpo --rewards accuracy,format_strict \
	  --max-pixels $(PIXELS) --workers 2 --title "make learn: $(TASK), GRPO vs SFT" --output $(LEARN_OUT)/$(TASK)/report

# Before a long job on a CUDA machine: five GRPO steps of the tiny model with bf16, SDPA, ZeRO-3 over
# NCCL, gradient checkpointing and a frozen vision tower; prints step time, peak memory and the
# require-grads hook count, exit 1 on any problem. Without CUDA it runs its CPU form (float32, gloo).
gpu-check: install
	$(BIN)/python -m gui_agent_rl.train.gpu_check

test: install lint browser
	$(BIN)/pytest -n 2 --durations=15

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) $(LEARN_OUT) .pytest_cache .ruff_cache .hypothesis
