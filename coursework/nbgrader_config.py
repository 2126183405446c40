# nbgrader configuration of the dmftlib course (nbgrader 0.9.6).
# Run every nbgrader command from this directory (it is the course root), e.g.
#   nbgrader generate_assignment a1_order_chaos
# Instructor versions live in source/<assignment>/; nbgrader creates release/, submitted/,
# autograded/, feedback/ and gradebook.db beside them (all git-ignored).
c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "dmft-learning"

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Each assignment runs in about 10-30 s; a generous per-cell limit for slow machines.
c.Execute.timeout = 600
