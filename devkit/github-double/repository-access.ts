// The repositories a credential can no longer see: those a fine-grained token's repository list
// or an installation's repository selection has dropped. GitHub hides them: their endpoints answer
// 404, as for a repository that does not exist. Organisations are never hidden this way.
import { ownerKey, type Owner } from "./owner";

export class RepositoryAccess {
  /** `ownerKey`s of the dropped repositories, so names compare without case. */
  private readonly dropped = new Set<string>();

  drop(repo: Owner & { kind: "repo" }): void {
    this.dropped.add(ownerKey(repo));
  }

  canSee(owner: Owner): boolean {
    return owner.kind === "org" || !this.dropped.has(ownerKey(owner));
  }

  /** Whether any repository was dropped: GitHub then reports the selection as `selected`. */
  get narrowed(): boolean {
    return this.dropped.size > 0;
  }
}
