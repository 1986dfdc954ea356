/* test-heads.c — suite `heads`: the three heads end to end, training's guarantees,
 * the PyTorch reference fixture and bad input.  Data is made once, at test time. */
#include "heads-test.h"

void add_e2e_tests (void);
void add_train_tests (void);
void add_fixture_tests (void);
void add_bad_tests (void);
void add_train_val_tests (void);

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add_fixture_tests ();
  add_e2e_tests ();
  add_train_tests ();
  add_bad_tests ();
  add_train_val_tests ();
  int status = g_test_run ();
  ht_cleanup ();
  return status;
}
