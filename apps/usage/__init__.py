"""How the vendor's software is used: the Web API log and its state codes, registered events,
floating-seat sessions condensed from the log, log import/export and retention."""
