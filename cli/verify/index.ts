/** `elax verify`: placeholder registration, filled in by the verify work. */
import type { Command } from 'commander';

export function registerVerifyCommands(_program: Command): void {}
