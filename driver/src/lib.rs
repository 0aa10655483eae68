// stub: the driver lands here
