"""PDE problems for sciml: reference solutions on grids (see ``reference_solvers``)."""
