import { Command } from "commander";
import { mpirunCommand } from "./mpirun-command.ts";
import { ccCommand } from "./cc-command.ts";
import { goCommand } from "./go-command.ts";
import { runCommand } from "./run-command.ts";
import { runnerCommand } from "./runner-command.ts";
import { slurmCommand } from "./slurm-command.ts";
import { headCommand } from "./head-command.ts";
import { dashboardCommand } from "./dashboard-command.ts";
import { statusCommand } from "./status-command.ts";
import { topCommand } from "./top-command.ts";
import { dagCommand } from "./dag-command.ts";

const program = new Command("strand")
  .description("Strand: distributed goroutines for TypeScript")
  .addCommand(runnerCommand())
  .addCommand(headCommand())
  .addCommand(runCommand())
  .addCommand(mpirunCommand())
  .addCommand(ccCommand())
  .addCommand(goCommand())
  .addCommand(slurmCommand())
  .addCommand(dashboardCommand())
  .addCommand(statusCommand())
  .addCommand(topCommand())
  .addCommand(dagCommand())
  .showHelpAfterError();

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`strand: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
