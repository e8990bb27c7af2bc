/** Text of the performer studio (English). */
export const studio = {
  title: 'Studio',
};
