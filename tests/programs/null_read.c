/* Reads through a NULL struct pointer: the load of n->next touches address 0x8. */
#include <stdio.h>

struct node {
    long value;
    struct node *next;
};

static struct node *volatile list_head; /* NULL, opaque to the optimizer */

__attribute__((noinline)) long kiln_test_null_read(struct node *n) {
    return n->next->value;
}

int main(void) {
    printf("reading through NULL\n");
    fflush(stdout);
    long v = kiln_test_null_read(list_head);
    printf("survived the NULL read: %ld\n", v);
    return 0;
}
