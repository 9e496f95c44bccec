from django.http import HttpResponse


def list_view(request):  # replaced by the pages of issue 6
    return HttpResponse("")
