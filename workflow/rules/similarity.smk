# Similarity family (SPEC §5): for every task a study asks it for (Study.similarity_tasks), per
# metric an n × n distance matrix over every network of the task (trained and untrained twins)
# from their probe.h5 hidden states, and its 2-D MDS embedding (of any pairwise file). The matrix is built in blocks (rnnatlas.stages.similarity_plan): the
# networks are cut into chunks of `block_size`; one job prepares each chunk (per-network SVD /
# centering, once), one job computes each chunk × chunk tile of the upper block triangle, one
# job merges. C chunks → C + C(C+1)/2 + 1 jobs, never one job per pair. The per-chunk and
# per-tile files are temporary. A task whose networks fit one chunk takes one job instead
# (rule similarity_single: the same file, two processes fewer per matrix).

from rnnatlas.similarity import METRICS as SIM_ALL_METRICS
from rnnatlas.stages import similarity_plan as SP

SIMILARITY = config["similarity"]
SIM_METRICS = SIMILARITY["metrics"]
SIM_DEVICE = (
    config["device"] if SIMILARITY["device"] == "inherit" else SIMILARITY["device"]
)
SIM_OPTIONS = json.dumps(
    {
        "variance": SIMILARITY["svcca_variance"],
        "sigma_fraction": SIMILARITY["rbf_sigma_fraction"],
        "angular": SIMILARITY["angular"],
        "dtype": SIMILARITY["dtype"],
        "alpha": SIMILARITY["procrustes"]["alpha"],
        "dsa": SIMILARITY["dsa"],
    }
)
SIM_TASKS = [t for study in STUDIES for t in study.similarity_tasks(config)]
SIM_CHUNKS = {}
for _task in SIM_TASKS:
    _nets = SP.matrix_networks(config, _task)
    SIM_CHUNKS[_task] = [
        _nets[s:e] for s, e in SP.chunk_ranges(len(_nets), SIMILARITY["block_size"])
    ]
SIM_PARTS = f"{RESULTS}/{{task}}/pairwise/parts/{{metric}}"
SIM_SINGLE_TASKS = [t for t in SIM_TASKS if len(SIM_CHUNKS[t]) == 1]
SIM_TILED_TASKS = [t for t in SIM_TASKS if len(SIM_CHUNKS[t]) > 1]
SIM_METRIC_RE = "|".join(SIM_ALL_METRICS)
SIM_GPU = (
    0 if SIM_DEVICE == "cpu" else 1
)  # a GPU for similarity jobs unless pinned to the CPU
# Every mem_mb below grows with the size of the job's inputs and with the attempt (`--retries`).


if SIM_SINGLE_TASKS:

    rule similarity_single:
        input:
            lambda w: [
                net_file(w.task, n.id, "probe.h5") for n in SIM_CHUNKS[w.task][0]
            ],
        output:
            f"{RESULTS}/{{task}}/pairwise/{{metric}}.nc",
        log:
            f"{RESULTS}/logs/similarity/{{task}}/{{metric}}/single.log",
        benchmark:
            f"{RESULTS}/benchmarks/similarity/{{task}}/{{metric}}/single.tsv"
        wildcard_constraints:
            metric=SIM_METRIC_RE,
            task="|".join(SIM_SINGLE_TASKS),
        conda:
            CONDA_ENV
        threads: SIMILARITY["threads"]
        resources:
            mem_mb=lambda w, input, attempt: attempt
            * int(2500 + 12 * input.size_mb + (4000 if w.metric == "cka_rbf" else 0)),
            runtime=scaled(120),
            gpu=SIM_GPU,
        params:
            options=SIM_OPTIONS,
            device=SIM_DEVICE,
        shell:
            f"{RNNATLAS} similarity-single --task {{wildcards.task}} --metric {{wildcards.metric}} "
            "--probes {input} --options {params.options:q} --out {output} "
            "--threads {threads} --device {params.device} > {log} 2>&1"


rule similarity_prepare:
    input:
        lambda w: [
            net_file(w.task, n.id, "probe.h5")
            for n in SIM_CHUNKS[w.task][int(w.chunk)]
        ],
    output:
        prep=temp(f"{SIM_PARTS}/prep-{{chunk}}.npz"),
        meta=temp(f"{SIM_PARTS}/prep-{{chunk}}.json"),
    log:
        f"{RESULTS}/logs/similarity/{{task}}/{{metric}}/prep-{{chunk}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/similarity/{{task}}/{{metric}}/prep-{{chunk}}.tsv"
    wildcard_constraints:
        metric=SIM_METRIC_RE,
        chunk=r"\d+",
    conda:
        CONDA_ENV
    threads: SIMILARITY["threads"]
    resources:
        # probe files are gzip'ed float32; RBF CKA also holds a few samples² float64 matrices per thread
        mem_mb=lambda w, input, attempt: attempt
        * int(2000 + 10 * input.size_mb + (4000 if w.metric == "cka_rbf" else 0)),
        runtime=scaled(60),
        gpu=SIM_GPU,
    params:
        options=SIM_OPTIONS,
        device=SIM_DEVICE,
    shell:
        f"{RNNATLAS} similarity-prepare --task {{wildcards.task}} --metric {{wildcards.metric}} --chunk {{wildcards.chunk}} "
        "--probes {input} --options {params.options:q} --out {output.prep} --out-meta {output.meta} "
        "--threads {threads} --device {params.device} > {log} 2>&1"


rule similarity_block:
    input:
        prep_a=f"{SIM_PARTS}/prep-{{i}}.npz",
        meta_a=f"{SIM_PARTS}/prep-{{i}}.json",
        prep_b=f"{SIM_PARTS}/prep-{{j}}.npz",
        meta_b=f"{SIM_PARTS}/prep-{{j}}.json",
    output:
        temp(f"{SIM_PARTS}/block-{{i}}-{{j}}.npz"),
    log:
        f"{RESULTS}/logs/similarity/{{task}}/{{metric}}/block-{{i}}-{{j}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/similarity/{{task}}/{{metric}}/block-{{i}}-{{j}}.tsv"
    wildcard_constraints:
        metric=SIM_METRIC_RE,
        i=r"\d+",
        j=r"\d+",
    conda:
        CONDA_ENV
    threads: SIMILARITY["threads"]
    resources:
        # both prepared chunks (uncompressed .npz) plus the bounded Gram-row buffer (256 MB)
        mem_mb=lambda w, input, attempt: attempt * int(1500 + 1.5 * input.size_mb),
        runtime=scaled(120),
        gpu=SIM_GPU,
    params:
        options=SIM_OPTIONS,
        device=SIM_DEVICE,
    shell:
        f"{RNNATLAS} similarity-block --prep-a {{input.prep_a}} --meta-a {{input.meta_a}} --prep-b {{input.prep_b}} "
        "--meta-b {input.meta_b} --options {params.options:q} --out {output} "
        "--threads {threads} --device {params.device} > {log} 2>&1"


rule similarity_merge:
    input:
        metas=lambda w: [
            f"{RESULTS}/{w.task}/pairwise/parts/{w.metric}/prep-{c}.json"
            for c in range(len(SIM_CHUNKS[w.task]))
        ],
        blocks=lambda w: [
            f"{RESULTS}/{w.task}/pairwise/parts/{w.metric}/block-{i}-{j}.npz"
            for i, j in SP.tiles(len(SIM_CHUNKS[w.task]))
        ],
    output:
        f"{RESULTS}/{{task}}/pairwise/{{metric}}.nc",
    log:
        f"{RESULTS}/logs/similarity/{{task}}/{{metric}}/merge.log",
    benchmark:
        f"{RESULTS}/benchmarks/similarity/{{task}}/{{metric}}/merge.tsv"
    wildcard_constraints:
        metric=SIM_METRIC_RE,
        task="|".join(SIM_TILED_TASKS) or "(?!)",  # (?!) matches nothing
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=lambda w, input, attempt: attempt * int(1000 + 3 * input.size_mb),
        runtime=scaled(30),
        gpu=0,
    params:
        options=SIM_OPTIONS,
    shell:
        f"{RNNATLAS} similarity-merge --task {{wildcards.task}} --metric {{wildcards.metric}} --metas {{input.metas}} "
        "--blocks {input.blocks} --options {params.options:q} --out {output} > {log} 2>&1"


rule embedding:
    input:
        f"{RESULTS}/{{task}}/pairwise/{{metric}}.nc",
    output:
        f"{RESULTS}/{{task}}/embedding/{{metric}}.nc",
    log:
        f"{RESULTS}/logs/embedding/{{task}}/{{metric}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/embedding/{{task}}/{{metric}}.tsv"
    wildcard_constraints:
        metric=r"[a-z][a-z0-9_]*",  # any pairwise file (a similarity metric, a study's graph distance, …)
    conda:
        CONDA_ENV
    threads: 1
    resources:
        # SMACOF keeps about ten n × n float64 matrices; the input is one
        mem_mb=lambda w, input, attempt: attempt * int(1000 + 12 * input.size_mb),
        runtime=scaled(60),
        gpu=0,
    params:
        mds=json.dumps(SIMILARITY["mds"]),
    shell:
        f"{RNNATLAS} embed --pairwise {{input}} --mds {{params.mds:q}} --out {{output}} --threads {{threads}} > {{log}} 2>&1"


for _task in SIM_TASKS:
    for _metric in SIM_METRICS:
        FINAL_TARGETS.append(f"{RESULTS}/{_task}/pairwise/{_metric}.nc")
        FINAL_TARGETS.append(f"{RESULTS}/{_task}/embedding/{_metric}.nc")
