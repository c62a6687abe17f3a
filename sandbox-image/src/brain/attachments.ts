import type { Attachment } from "@concierge/protocol";

/** Attachments as words for the model (the bytes stay with the control plane). */
export function describeAttachments(attachments: Attachment[] | undefined): string {
  if (!attachments || attachments.length === 0) return "";
  const parts = attachments.map((a) => {
    if (a.kind === "location") return `[shared a location: ${a.name ?? ""} ${a.latitude ?? "?"},${a.longitude ?? "?"}]`.replace("  ", " ");
    return `[sent ${a.kind === "other" ? "a file" : `a ${a.kind}`}${a.caption ? ` with caption "${a.caption}"` : ""}${a.name ? ` named ${a.name}` : ""}]`;
  });
  return parts.join(" ");
}
