import { useEffect, useRef, type ReactNode } from 'react';

/** A modal dialog (the native element traps focus and closes on Escape), labelled by its title. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    // Opened once; unmounting removes it (closing here would report a close the user never asked for).
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const titleId = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}
