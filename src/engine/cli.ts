/** The engine CLI: `nemo-evaluator run_eval ...` and `nemo-evaluator ls`. */
export async function main(_argv: string[]): Promise<void> {
  process.stderr.write('nemo-evaluator: not implemented yet\n');
  process.exitCode = 1;
}
