# The run's configuration (the defaults merged with every --configfile), as a result file and
# in the HTML report of `snakemake --report`, so a report always says how it was made.


rule run_configuration:
    output:
        report(f"{RESULTS}/run_configuration.yaml", caption="../report/configuration.rst", category="Configuration"),
    params:
        text=yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
    log:
        f"{RESULTS}/logs/run_configuration.log",
    threads: 1
    resources:
        mem_mb=scaled(500),
        runtime=scaled(5),
        gpu=0,
    run:
        tmp = output[0] + ".tmp"
        with open(tmp, "w") as f:
            f.write("# The merged configuration of this run (config/config.yaml + --configfile overrides).\n")
            f.write(params.text)
        os.replace(tmp, output[0])


FINAL_TARGETS.append(f"{RESULTS}/run_configuration.yaml")
