/** A table row of text cells and a "Revoke" button (the sessions and API keys tables). */
export function revocableRow(cells: string[], buttonClass: string, revoke: () => Promise<void>, onError: (err: unknown) => void): HTMLTableRowElement {
  const row = document.createElement("tr");
  for (const text of cells) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  const button = document.createElement("button");
  button.textContent = "Revoke";
  button.className = buttonClass;
  button.addEventListener("click", () => void revoke().catch(onError));
  const cell = document.createElement("td");
  cell.append(button);
  row.append(cell);
  return row;
}
