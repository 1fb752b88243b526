"""Testing the paper's claims: seed statistics and corrected tests (:mod:`.statistics`),
trivial forecasters and closed-loop scores, each chapter's findings as data
(:mod:`.findings`), the reduction claims of Table I (:mod:`.reductions`), what the trained
edges learned (:mod:`.learned_spectra`), and the verdict rules (:mod:`.verdict`)."""
