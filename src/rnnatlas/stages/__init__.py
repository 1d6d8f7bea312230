"""One module per pipeline stage; each is what one ``rnnatlas <stage>`` command runs."""
