/** `elax recall`: placeholder registration, filled in by the recall work. */
import type { Command } from 'commander';

export function registerRecallCommands(_program: Command): void {}
