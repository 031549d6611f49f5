import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { expandTasksPerNode, slurmAllocation, srunArgs } from "../../src/driver/slurm/allocation.ts";

describe("a Slurm allocation", () => {
  it("expands SLURM_TASKS_PER_NODE", () => {
    expect(expandTasksPerNode("4")).toEqual([4]);
    expect(expandTasksPerNode("2(x3),1")).toEqual([2, 2, 2, 1]);
    expect(expandTasksPerNode("16(x2)")).toEqual([16, 16]);
    expect(() => expandTasksPerNode("2x3")).toThrow(TypeError);
  });

  it("is read from the SLURM_* variables, and absent outside one", () => {
    expect(slurmAllocation({})).toBeUndefined();
    expect(slurmAllocation({ SLURM_JOB_ID: "7", SLURM_NTASKS: "3" })).toBeUndefined(); // no node list
    expect(slurmAllocation({ SLURM_JOB_ID: "7", SLURM_NTASKS: "5", SLURM_JOB_NODELIST: "n[1-2]", SLURM_TASKS_PER_NODE: "3,2", SLURM_JOB_NUM_NODES: "2" }))
      .toEqual({ jobId: "7", tasks: 5, nodeList: "n[1-2]", tasksPerNode: [3, 2] });
    // Without a per-node count, tasks are spread evenly.
    expect(slurmAllocation({ SLURM_JOB_ID: "7", SLURM_NTASKS: "5", SLURM_JOB_NODELIST: "n[1-2]", SLURM_JOB_NUM_NODES: "2" })?.tasksPerNode).toEqual([3, 3]);
  });

  it("starts one runner per node with srun, joining the head, its threads picked per node", () => {
    const args = srunArgs({ jobId: "7", tasks: 5, nodeList: "n[1-2]", tasksPerNode: [3, 2] }, "10.0.0.1:7600", ["/usr/bin/node", "/opt/strand/main.js"]);
    expect(args.slice(0, 5)).toEqual(["--overlap", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--kill-on-bad-exit=0"]);
    expect(args.join(" ")).toContain("/usr/bin/node /opt/strand/main.js runner --join 10.0.0.1:7600 --listen 0.0.0.0:0 --tag slurm.job=7");
    const script = args[args.indexOf("-c") + 1]!;
    // What each node's task runs: its own node's task count as threads, and the step as a tag.
    const picked = spawnSync("sh", ["-c", script, "strand-runner", "echo", "runner"], { encoding: "utf8", env: { PATH: process.env.PATH, SLURM_NODEID: "1", SLURM_STEP_ID: "4", STRAND_TASKS_PER_NODE: "3,2" } });
    expect(picked.stdout.trim()).toBe("runner --threads 2 --tag slurm.step=4");
  });
});
