# Configuration of the IPython kernels of this project's environment; `make` installs it into
# .venv/etc/ipython/, where every kernel started from .venv reads it.
#
# Output that libraries write straight to the process's file descriptors, below Python (TensorFlow's
# C++ start-up lines: absl, cudart_stub, cuInit; tf.data's node_def_util errors), goes to the
# terminal that started Jupyter or to the CLI's kernel log, not into the notebooks. What Python code
# prints, warnings included, still appears in the notebook.
c.IPKernelApp.capture_fd_output = False  # noqa: F821 (IPython's config object)
