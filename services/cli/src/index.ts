export { type DeadLetterEntry, listDeadLetters, replayDeadLetters } from './dlq.ts';
