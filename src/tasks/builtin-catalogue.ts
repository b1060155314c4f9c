/**
 * The built-in task catalogue: the commonly used upstream tasks as facts (the v0.1.28 era mapping,
 * container tag 25.10), plus the `builtin` harness whose tasks run in the locally built engine image.
 * A catalogue loaded from a file (NEL_TASKS_FILE) replaces the upstream part; `builtin` always stays.
 */
import { listBenchmarks } from '../engine/benchmarks/index.js';
import { engineImageRef } from '../runtime/engine-image-ref.js';

const REGISTRY = 'nvcr.io/nvidia/eval-factory';
const TAG = '25.10';

export interface BuiltinHarnessFacts {
  name: string;
  /** Image name under the eval-factory registry path, or a full reference. */
  image: string;
  description: string;
  /** Tasks as [name, endpoint type(s), description]. */
  tasks: [string, string | string[], string][];
}

export const UPSTREAM_HARNESSES: BuiltinHarnessFacts[] = [
  {
    name: 'lm-evaluation-harness',
    image: 'lm-evaluation-harness',
    description: 'Language Model Evaluation Harness (EleutherAI).',
    tasks: [
      ['ifeval', 'chat', 'IFEval: verifiable instruction following.'],
      ['mmlu_prox', 'chat', 'MMLU-ProX: multilingual MMLU-Pro.'],
      ['mmlu', 'completions', 'MMLU, 57 subjects, text generation variant.'],
      ['mmlu_pro', 'completions', 'MMLU-Pro: harder 10-choice MMLU.'],
      ['mmlu_logits', 'completions', 'MMLU scored from log-probabilities.'],
      ['mmlu_instruct', 'chat', 'MMLU, zero-shot, instructed single-letter answer (chat).'],
      ['mmlu_redux_instruct', 'chat', 'MMLU-Redux, instructed (chat).'],
      ['global_mmlu', 'completions', 'Global-MMLU: MMLU translated into many languages.'],
      ['global_mmlu_full', 'completions', 'Global-MMLU, full version.'],
      ['gsm8k', 'completions', 'GSM8K grade-school math word problems.'],
      ['gsm8k_cot_instruct', 'chat', 'GSM8K with chain-of-thought, instructed (chat).'],
      ['gsm8k_cot_llama', 'chat', 'GSM8K chain-of-thought, Llama prompt (chat).'],
      ['mgsm_cot', 'chat', 'MGSM with chain-of-thought (chat).'],
      ['gpqa_diamond_cot', 'chat', 'GPQA Diamond with chain-of-thought (chat).'],
      ['winogrande', 'completions', 'WinoGrande commonsense reasoning.'],
      ['hellaswag', 'completions', 'HellaSwag sentence completion.'],
      ['hellaswag_multilingual', 'completions', 'HellaSwag, multilingual.'],
      ['commonsense_qa', 'completions', 'CommonsenseQA.'],
      ['openbookqa', 'completions', 'OpenBookQA.'],
      ['piqa', 'completions', 'PIQA physical commonsense reasoning.'],
      ['adlr_race', 'completions', 'RACE reading comprehension.'],
      ['social_iqa', 'completions', 'Social IQa.'],
      ['adlr_truthfulqa_mc2', 'completions', 'TruthfulQA MC2.'],
      ['adlr_minerva_math_nemo', 'completions', 'Minerva MATH.'],
      ['adlr_arc_challenge_llama', 'completions', 'ARC-Challenge, Llama prompt.'],
      ['adlr_mmlu_pro_5_shot_base', 'completions', 'MMLU-Pro, 5-shot, base models.'],
      ['adlr_mbpp_sanitized_3shot_greedy', 'completions', 'MBPP sanitized, 3-shot, greedy.'],
      ['adlr_mbppplus_greedy_sanitized', 'completions', 'MBPP+ sanitized, greedy.'],
      ['adlr_humaneval_greedy', 'completions', 'HumanEval, greedy.'],
      ['adlr_humanevalplus_greedy', 'completions', 'HumanEval+, greedy.'],
      ['adlr_gsm8k_fewshot_cot', 'chat', 'GSM8K few-shot chain-of-thought.'],
      ['arc_multilingual', 'completions', 'ARC, multilingual.'],
    ],
  },
  {
    name: 'mtbench',
    image: 'mtbench',
    description: 'MT-Bench multi-turn conversation benchmark (FastChat).',
    tasks: [
      ['mtbench', 'chat', 'MT-Bench, judged by an LLM.'],
      ['mtbench-cor1', 'chat', 'MT-Bench with corrected references.'],
    ],
  },
  {
    name: 'ifbench',
    image: 'ifbench',
    description: 'IFBench: precise instruction following.',
    tasks: [['ifbench', 'chat', 'IFBench.']],
  },
  {
    name: 'simple_evals',
    image: 'simple-evals',
    description: 'simple-evals: a lightweight library for evaluating language models (OpenAI).',
    tasks: [
      ['gpqa_diamond', 'chat', 'GPQA Diamond: graduate-level science questions.'],
      ['gpqa_diamond_aa_v2', 'chat', 'GPQA Diamond, Artificial Analysis v2 setup.'],
      ['gpqa_diamond_aa_v2_llama_4', 'chat', 'GPQA Diamond, AA v2, Llama 4 prompt.'],
      ['gpqa_diamond_nemo', 'chat', 'GPQA Diamond, NeMo prompt.'],
      ['AA_math_test_500', 'chat', 'MATH-500, Artificial Analysis setup.'],
      ['math_test_500_nemo', 'chat', 'MATH-500, NeMo prompt.'],
      ['aime_2024_nemo', 'chat', 'AIME 2024, NeMo prompt.'],
      ['AA_AIME_2024', 'chat', 'AIME 2024, Artificial Analysis setup.'],
      ['aime_2025_nemo', 'chat', 'AIME 2025, NeMo prompt.'],
      ['AIME_2025', 'chat', 'AIME 2025.'],
      ['humaneval', 'chat', 'HumanEval code generation (chat).'],
      ['mgsm', 'chat', 'MGSM: multilingual grade-school math.'],
      ['mmlu_pro', 'chat', 'MMLU-Pro (chat).'],
      ['mmlu', 'chat', 'MMLU (chat).'],
      ['mmlu_llama_4', 'chat', 'MMLU, Llama 4 prompt.'],
      ['mmlu_pro_llama_4', 'chat', 'MMLU-Pro, Llama 4 prompt.'],
      ['mmlu_de-lite', 'chat', 'Global-MMLU Lite, German.'],
      ['mmlu_en-lite', 'chat', 'Global-MMLU Lite, English.'],
      ['mmlu_es-lite', 'chat', 'Global-MMLU Lite, Spanish.'],
      ['mmlu_fr-lite', 'chat', 'Global-MMLU Lite, French.'],
      ['mmlu_ja-lite', 'chat', 'Global-MMLU Lite, Japanese.'],
      ['mmlu_zh-lite', 'chat', 'Global-MMLU Lite, Chinese.'],
    ],
  },
  {
    name: 'bigcode-evaluation-harness',
    image: 'bigcode-evaluation-harness',
    description: 'Code Generation LM Evaluation Harness (BigCode).',
    tasks: [
      ['mbpp', 'chat', 'MBPP: basic Python programming problems (chat).'],
      ['mbppplus', 'chat', 'MBPP+ with extended tests (chat).'],
      ['mbppplus_nemo', 'chat', 'MBPP+, NeMo prompt (chat).'],
      ['humaneval', 'completions', 'HumanEval code completion.'],
      ['humaneval_instruct', 'chat', 'HumanEval, instructed (chat).'],
    ],
  },
  {
    name: 'livecodebench',
    image: 'livecodebench',
    description: 'LiveCodeBench: contamination-free code evaluation.',
    tasks: [
      ['livecodebench_0724_0125', 'chat', 'LiveCodeBench problems 07/2024 to 01/2025.'],
      ['livecodebench_0824_0225', 'chat', 'LiveCodeBench problems 08/2024 to 02/2025.'],
    ],
  },
  {
    name: 'scicode',
    image: 'scicode',
    description: 'SciCode: scientific research coding problems.',
    tasks: [['aa_scicode', 'chat', 'SciCode, Artificial Analysis setup.']],
  },
  {
    name: 'hle',
    image: 'hle',
    description: "Humanity's Last Exam.",
    tasks: [['hle', 'chat', "Humanity's Last Exam (text questions)."]],
  },
  {
    name: 'bfcl',
    image: 'bfcl',
    description: 'Berkeley Function Calling Leaderboard.',
    tasks: [
      ['bfclv2_ast_prompting', 'chat', 'BFCL v2, AST, prompting.'],
      ['bfclv3_ast_prompting', 'chat', 'BFCL v3, AST, prompting.'],
    ],
  },
  {
    name: 'profbench',
    image: 'profbench',
    description: 'ProfBench: professional-domain report evaluation.',
    tasks: [
      ['llm_judge', 'chat', 'ProfBench LLM-judge track.'],
      ['report_generation', 'chat', 'ProfBench report generation track.'],
    ],
  },
  {
    name: 'vlmevalkit',
    image: 'vlmevalkit',
    description: 'VLMEvalKit: vision-language benchmarks.',
    tasks: [
      ['ocrbench', 'vlm', 'OCRBench.'],
      ['slidevqa', 'vlm', 'SlideVQA.'],
      ['chartqa', 'vlm', 'ChartQA.'],
      ['ai2d_judge', 'vlm', 'AI2D, judged.'],
    ],
  },
  {
    name: 'garak',
    image: 'garak',
    description: 'garak: LLM vulnerability scanner.',
    tasks: [['garak', 'chat', 'garak security probes.']],
  },
  {
    name: 'nemo_skills',
    image: 'nemo_skills',
    description: 'NeMo Skills evaluation suite.',
    tasks: [
      ['ns_aime2024', 'chat', 'AIME 2024 (NeMo Skills).'],
      ['ns_aime2025', 'chat', 'AIME 2025 (NeMo Skills).'],
      ['ns_bfcl_v3', 'chat', 'BFCL v3 (NeMo Skills).'],
      ['ns_gpqa', 'chat', 'GPQA (NeMo Skills).'],
      ['ns_hle', 'chat', "Humanity's Last Exam (NeMo Skills)."],
      ['ns_mmlu', 'chat', 'MMLU (NeMo Skills).'],
      ['ns_mmlu_pro', 'chat', 'MMLU-Pro (NeMo Skills).'],
    ],
  },
  {
    name: 'safety-harness',
    image: 'safety-harness',
    description: 'Safety evaluation harness.',
    tasks: [['aegis_v2', 'chat', 'Aegis 2.0 content safety, judged.']],
  },
  {
    name: 'helm',
    image: 'helm',
    description: 'HELM medical benchmarks.',
    tasks: [
      ['medcalc_bench', 'chat', 'MedCalc-Bench.'],
      ['medec', 'chat', 'MEDEC medical error detection.'],
      ['head_qa', 'chat', 'HEAD-QA.'],
      ['medbullets', 'chat', 'MedBullets.'],
      ['pubmed_qa', 'chat', 'PubMedQA.'],
      ['medication_qa', 'chat', 'MedicationQA.'],
    ],
  },
  {
    name: 'tooltalk',
    image: 'tooltalk',
    description: 'ToolTalk: tool use in conversation.',
    tasks: [['tooltalk', 'chat', 'ToolTalk.']],
  },
];

/** Container reference of an upstream harness of the built-in catalogue. */
export function upstreamContainer(h: BuiltinHarnessFacts): string {
  return h.image.includes('/') ? h.image : `${REGISTRY}/${h.image}:${TAG}`;
}

export const BUILTIN_HARNESS = 'builtin';

/**
 * Tasks of our own engine, run in the locally built image (engineImageRef()), as [name, endpoint types,
 * description]: read from the engine's benchmark registry, so that what `nel ls tasks` lists is what the
 * engine runs.
 */
export function builtinEngineTasks(): [string, string[], string][] {
  return listBenchmarks().map((b) => [b.name, [...b.supportedEndpointTypes], b.description]);
}

export function builtinHarnessDescription(): { name: string; container: string; description: string } {
  return {
    name: BUILTIN_HARNESS,
    container: engineImageRef(),
    description: "This tool's own evaluation engine (nemo-evaluator-ts), built locally.",
  };
}
