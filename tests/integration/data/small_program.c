/* A small C program that tests/integration/programs_test.sh compiles with gcc under the preload libraries
   (the compiler's own allocations are what is exercised) and then runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Node {
  struct Node* next;
  unsigned value;
};

static unsigned Collatz(unsigned long long n) {
  unsigned steps = 0;
  while (n != 1) {
    n = (n % 2) ? 3 * n + 1 : n / 2;
    ++steps;
  }
  return steps;
}

int main(void) {
  struct Node* head = NULL;
  for (unsigned i = 1; i < 20000; ++i) {
    struct Node* node = malloc(sizeof(*node));
    if (node == NULL) return 1;
    node->value = Collatz(i);
    node->next = head;
    head = node;
  }
  unsigned long long sum = 0;
  unsigned best = 0;
  while (head != NULL) {
    struct Node* next = head->next;
    sum += head->value;
    if (head->value > best) best = head->value;
    free(head);
    head = next;
  }
  char* text = malloc(1);
  size_t length = 0;
  for (int i = 0; i < 5000; ++i) {
    char piece[32];
    int n = snprintf(piece, sizeof(piece), "%d,", i * i);
    text = realloc(text, length + (size_t)n + 1);
    memcpy(text + length, piece, (size_t)n + 1);
    length += (size_t)n;
  }
  printf("%llu %u %zu %.20s\n", sum, best, length, text + length / 2);
  free(text);
  return 0;
}
