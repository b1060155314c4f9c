/**
 * The `bash -c` command of the evaluation container (launcher-spec 5.6): write pre_cmd.sh, post_cmd.sh
 * and config_ef.yaml (sent base64-encoded, so no value needs quoting), copy the user's config beside the
 * results, run the engine (`nemo-evaluator`, or `eval-factory` in older images) between pre_cmd and
 * post_cmd, and hand the first TERM/INT on to the engine so that it writes what it has.
 * The helper files go to a fresh temporary directory: the image's working directory may be read-only.
 */
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const write = (text: string, file: string): string =>
  `printf '%s' ${b64(text) || "''"} | base64 -d > ${file}`;

/** sed arguments replacing each `${NAME}` placeholder by the variable's value (as upstream). */
export function configVarSed(names: string[]): string {
  return names.map((n) => `-e "s|\\\${${n}}|\${${n}}|g"`).join(' ');
}

export function evaluationContainerCommand(job: {
  preCmd: string;
  postCmd: string;
  engineConfigYaml: string;
  unresolvedConfigText: string | null;
  /** `${NAME}` placeholders filled in from the container's environment (auxiliary URLs) */
  configVars?: string[];
}): string {
  const parts = [
    'cd "$(mktemp -d 2>/dev/null || echo /tmp)"',
    write(job.preCmd, 'pre_cmd.sh'),
    write(job.postCmd, 'post_cmd.sh'),
    write(job.engineConfigYaml, 'config_ef.yaml'),
  ];
  if (job.configVars && job.configVars.length > 0)
    parts.push(`sed -i ${configVarSed(job.configVars)} config_ef.yaml`);
  if (job.unresolvedConfigText !== null)
    parts.push(write(job.unresolvedConfigText, '/results/launcher_unresolved_config.yaml'));
  parts.push(
    'cmd=$(command -v nemo-evaluator >/dev/null 2>&1 && echo nemo-evaluator || echo eval-factory)',
    'source pre_cmd.sh',
    '{ $cmd run_eval --run_config config_ef.yaml & nel_engine=$!; ' +
      'trap "trap \\"\\" TERM INT; kill -TERM \\$nel_engine 2>/dev/null" TERM; ' +
      'trap "trap \\"\\" TERM INT; kill -INT \\$nel_engine 2>/dev/null" INT; ' +
      'wait $nel_engine; code=$?; ' +
      'while kill -0 $nel_engine 2>/dev/null; do wait $nel_engine; code=$?; done; ' +
      '(source post_cmd.sh); (exit $code); }',
  );
  return (
    parts.join(' && ') +
    '; exit_code=$?; chmod -R a+rwX /results 2>/dev/null; if [ "$exit_code" -ne 0 ]; then echo "The evaluation container failed with exit code $exit_code" >&2; exit "$exit_code"; fi; echo "Container completed successfully" >&2; exit 0'
  );
}
