/** Text of the viewer watch page (English). */
export const watch = {
  title: 'Watch',
};
