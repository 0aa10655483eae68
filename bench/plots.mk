# The bandwidth plots of docs/performance.md. Included by bench/bench.mk.
#   make plots   installs matplotlib if it is missing (./setup.sh --plots: apt-get,
#                as root or with sudo), runs the cpu sweep (make sweep) into
#                $(SWEEP_CSV), keeps it as docs/data/cpu-sweep.csv, draws
#                docs/bandwidth-cpu.png and docs/bandwidth-cpu-ratio.png, and,
#                once docs/data/gpu-sweep.csv is committed (make bench-gpu's
#                CSV from the GPU machine), docs/bandwidth-h200.png and
#                docs/bandwidth-h200-ratio.png.
#   make plots-topology  runs make bench-topology, keeps its CSV as
#                docs/data/topology.csv and draws docs/topology.png.
# Only these targets need matplotlib; make check never reaches them.

PLOT_DATA := docs/data
PLOT_GPU_CSV := $(PLOT_DATA)/gpu-sweep.csv
# Recursive, so that the shell runs only when a plot is drawn.
PLOT_CPU_TITLE ?= swze cpu backend, $(shell sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) \
	($(shell nproc) CPUs; all threads pinned to one)
PLOT_GPU_TITLE ?= NVIDIA H200, swze cuda backend
# Debian's python3-matplotlib serves Debian's python3; a python3 earlier on
# PATH (pyenv, a virtual environment) may not have it.
PLOT_PYTHON ?= $(firstword $(foreach py,python3 /usr/bin/python3,$(if $(shell $(py) -c 'import matplotlib' 2>/dev/null && echo y),$(py))) python3)

.PHONY: plots plots-topology setup-plots

setup-plots:
	@for py in python3 /usr/bin/python3; do $$py -c 'import matplotlib' 2>/dev/null && exit 0; done; ./setup.sh --plots

plots: setup-plots sweep
	@mkdir -p $(PLOT_DATA)
	cp $(SWEEP_CSV) $(PLOT_DATA)/cpu-sweep.csv
	$(PLOT_PYTHON) bench/plot.py --title "$(PLOT_CPU_TITLE)" --backend cpu \
		--out docs/bandwidth-cpu.png --ratio-out docs/bandwidth-cpu-ratio.png $(PLOT_DATA)/cpu-sweep.csv
	@if [ -f $(PLOT_GPU_CSV) ]; then \
		echo '$(PLOT_PYTHON) bench/plot.py --title "$(PLOT_GPU_TITLE)" --backend cuda ... $(PLOT_GPU_CSV)'; \
		$(PLOT_PYTHON) bench/plot.py --title "$(PLOT_GPU_TITLE)" --backend cuda \
			--out docs/bandwidth-h200.png --ratio-out docs/bandwidth-h200-ratio.png $(PLOT_GPU_CSV); \
	else \
		echo "plots: no $(PLOT_GPU_CSV) yet, GPU plot skipped (make bench-gpu on the GPU machine writes it; docs/performance.md)"; \
	fi

plots-topology: setup-plots bench-topology
	@mkdir -p $(PLOT_DATA)
	cp $(TOPOLOGY_CSV) $(PLOT_DATA)/topology.csv
	$(PLOT_PYTHON) bench/plot_topology.py --out docs/topology.png $(PLOT_DATA)/topology.csv
