"""Importing leads from a spreadsheet: the file and its columns, each row checked as the
form checks a submission, uploads kept between preview and run, and the background job."""
