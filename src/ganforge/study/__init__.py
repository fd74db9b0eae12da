"""The equal-budget study of Lucic et al. 2018 ("Are GANs Created Equal?", NeurIPS 2018;
arXiv:1711.10337): every recipe trained over seeds (and sampled hyper-parameters) at one budget,
scored with the same extractor, reported as distributions rather than single runs.

``spec`` what a study is; ``budget`` budgets and FLOP counting; ``hparams`` the sampled
settings; ``cells`` one (recipe, setting, seed) run, claimed and run once; ``runner`` workers and
shards; ``results``/``summary``/``page`` the outputs; ``cli`` the ``ganforge study`` command.
Nothing here is imported by this file, so ``ganforge.api`` may import the runner alone.
"""
