"""``POST /rivya/webhook``: Rivya's signed push that a generation has finished.

A delivery is only a hint. It makes the matching row due at once; the poller then reads
the authoritative status with ``GET /generations/{id}`` and acts on that. Replays and
duplicates therefore change nothing more than the first delivery did. Without
``RIVYA_WEBHOOK_SECRET`` the endpoint does not exist (404): unsigned pushes are never read.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from generations.models import Generation
from generations.rivya import InvalidEvent, InvalidSignature
from generations.rivya.webhooks import SIGNATURE_HEADER, parse_event, verify_signature

logger = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def rivya_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.RIVYA_WEBHOOK_SECRET
    if not secret:
        raise Http404
    try:
        payload = request.body
        verify_signature(payload, request.headers.get(SIGNATURE_HEADER), secret)
        event = parse_event(payload)
    except InvalidSignature:
        logger.warning("rivya webhook: refused a delivery with a bad signature")
        return JsonResponse({"error": "invalid_signature"}, status=400)
    except InvalidEvent:
        logger.warning("rivya webhook: refused a signed delivery that is not an event")
        return JsonResponse({"error": "invalid_event"}, status=400)
    task_id = event.generation.id if event.generation is not None else None
    made_due = 0
    if task_id:
        made_due = Generation.objects.make_due(task_id)
    logger.info("rivya webhook %s (%s): %d generation(s) made due", event.id, event.type, made_due)
    return JsonResponse({"received": True})
