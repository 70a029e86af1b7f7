"""An Asterisk 22 stand-in that drives our FastAGI server the way the real one does, for the
tests and the benchmarks (neither needs a real Asterisk):

* `fastagi`: one channel's FastAGI session over real TCP (FakeAsterisk), no kinder than
  res_agi.c;
* `dialplan`: the shipped asterisk/extensions.conf run like Asterisk runs it, each Dial()
  outcome chosen by the caller of the harness;
* `cdr_pgsql`: the CDRs written into our `cdr` table the way cdr_pgsql writes them;
* `captures`: the FastAGI sessions captured from a real Asterisk 22.10.1 (`data/`, with its
  CDRs), which the fakes are checked against.
"""
