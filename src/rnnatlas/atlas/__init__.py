"""The atlas: ``results/atlas/index.html``, a page where every network of a run is a point of an
embedding (or of two of its fields) that opens the network's card.

``sections`` (what to show, planned from the studies), ``readers`` (what each result file
contributes: fields and card parts), ``collect`` (reading a run), ``page`` (writing the page)
and ``static/`` (the page's HTML, CSS and JavaScript).
"""
