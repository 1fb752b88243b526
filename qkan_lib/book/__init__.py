"""What the book shows: figures (:mod:`.plots`, :mod:`.spectrum_plots`, :mod:`.stats_plots`,
:mod:`.diagrams`), tables (:mod:`.tables`) and timings with their spread (:mod:`.timing`).
Pure functions of results computed by the layers below; none trains anything."""
