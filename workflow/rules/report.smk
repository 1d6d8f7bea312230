# The run's configuration (the defaults merged with every --configfile), as a result file and
# in the HTML report of `snakemake --report`, so a report always says how it was made.

import yaml

from rnnatlas.store.atomic import write_text


rule run_configuration:
    output:
        report(
            f"{RESULTS}/run_configuration.yaml",
            caption="../report/configuration.rst",
            category="Configuration",
        ),
    log:
        f"{RESULTS}/logs/run_configuration.log",
    threads: 1
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
        gpu=0,
    params:
        text=yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
    run:
        write_text(
            output[0],
            "# The merged configuration of this run (config/config.yaml + --configfile overrides).\n"
            + params.text,
        )
