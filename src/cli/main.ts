import { Command } from "commander";
import { mpirunCommand } from "./mpirun-command.ts";
import { runCommand } from "./run-command.ts";
import { runnerCommand } from "./runner-command.ts";

const program = new Command("strand")
  .description("Strand: distributed goroutines for TypeScript")
  .addCommand(runnerCommand())
  .addCommand(runCommand())
  .addCommand(mpirunCommand())
  .showHelpAfterError();

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`strand: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
