"""The steps, one module each. The registry imports every module here, so a new step is one new module."""
