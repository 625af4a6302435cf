"""Grounding checks: do the boxes, region ids and pages a response cites hold up?

:mod:`halluscope.grounding.regions` parses cited boxes (pixels, 0-1, 0-1000; Qwen, InternVL,
Gemini, JSON and plain formats) and region ids and matches them against offered regions,
annotations and detections; :mod:`halluscope.grounding.pages` parses page citations and the
quotes and numbers attributed to them and finds them in the document's text layer or OCR.
"""
