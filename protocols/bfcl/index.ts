/** BFCL v3: categories, data files, the AST checker with leaderboard semantics, aggregation. */
export {
  AST_CATEGORIES,
  RELEVANCE_CATEGORIES,
  CATEGORIES,
  type Category,
  type CheckKind,
  isCategory,
  checkKind,
  hasAnswers,
  questionFile,
  answerFile,
  normalizeCategory,
} from './categories.ts';
export { type ParamDoc, type FuncDoc, type GtCall, type BfclEntry, type BfclDataset, loadDataset, jsonLines } from './dataset.ts';
export {
  type CheckMode,
  type Verdict,
  type DecodedCall,
  type Decoded,
  decodeResult,
  astCheck,
  checkEntry,
  standardize,
} from './checker.ts';
export {
  type CategoryCount,
  type Figure,
  type Leaderboard,
  leaderboard,
  categoryFigure,
  weighted,
  unweighted,
  displayFigure,
  CATEGORY_SIZES,
  UNEVALUATED_SIZES,
} from './aggregate.ts';
export { referenceResult, referenceCalls } from './reference.ts';
export { checkResultLine, type ResultLineVerdict } from './results.ts';
export { type BfclQuestion, type BfclFunctionDoc, type QuestionMessage, parseQuestions } from './questions.ts';
export { RawAnswer, fcToolName, bfclTools, promptModeSystem, bfclMessages, resultFromAnswer, resultLine } from './prompting.ts';
