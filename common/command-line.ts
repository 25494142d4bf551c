/**
 * Option parsers shared by the project's command lines (commander), so that every command refuses
 * a bad value with the same words.
 */
import { InvalidArgumentError } from 'commander';

/** A whole number from 1, as typed after a flag such as `--jobs` or `--parallel`. */
export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('must be a whole number from 1');
  return Number(value);
}
