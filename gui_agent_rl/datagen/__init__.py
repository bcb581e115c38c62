"""Corpus of recorded steps -> multi-image JSONL dataset. Never imports torch.

``walk`` finds tasks and steps in numeric order; ``convert`` validates one step and renders its
sample; ``images`` checks screenshots; ``build`` runs the whole build (workers, report, split,
atomic writes); ``prompts`` holds the packaged prompt prefixes; ``stats`` and ``show`` look at a
built dataset; ``synth``, ``screens`` and ``fonts`` draw synthetic corpora.
"""
