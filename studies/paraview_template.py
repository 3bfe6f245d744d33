"""placeholder"""
def write_paraview_script(case_dir, main_field, series=None, overwrite=False):
    return None
