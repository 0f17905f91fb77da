"""params.yaml's sections, one module each, so a stage depends only on the sections it reads. (The build
section is `ferdata.variants.section`, the training recipe `ferdata.recipe`.)"""
